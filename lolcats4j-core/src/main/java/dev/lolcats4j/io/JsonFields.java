package dev.lolcats4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lolcats4j.BadInputException;
import java.math.BigDecimal;
import java.nio.file.Path;

/**
 * Typed, range-checked fields of a JSON object read from a user file. Jackson's lenient
 * accessors turn {@code "alpha": "abc"} into 0 and {@code 4294967304} into 8 (the low 32
 * bits); these refuse both, naming the file and the field. {@code name} is the field as the
 * user should look for it, e.g. {@code lora.alpha}.
 */
public final class JsonFields {

    private JsonFields() {}

    /** Whether the field is absent or JSON null (then the caller's default applies). */
    public static boolean absent(JsonNode parent, String key) {
        JsonNode node = parent.get(key);
        return node == null || node.isNull();
    }

    /** An integer in [min, max], or {@code fallback} when the field is absent or null. */
    public static long integer(Path file, JsonNode parent, String key, String name, long min, long max, long fallback) {
        return absent(parent, key) ? fallback : integer(file, parent.get(key), name, min, max);
    }

    /** A required integer in [min, max]. */
    public static long requiredInteger(Path file, JsonNode parent, String key, String name, long min, long max) {
        if (absent(parent, key)) {
            throw BadInputException.at(file, name, "required field is missing");
        }
        return integer(file, parent.get(key), name, min, max);
    }

    /** The value of {@code node} as an integer in [min, max] (1e3 and 64.0 are accepted, 64.5 is not). */
    public static long integer(Path file, JsonNode node, String name, long min, long max) {
        String range = "an integer in [" + min + ", " + max + "]";
        if (!node.isNumber()) {
            throw BadInputException.at(file, name, "expected " + range + ", found " + describe(node));
        }
        BigDecimal v = node.decimalValue();
        boolean integral;
        try {
            integral = v.stripTrailingZeros().scale() <= 0;
        } catch (ArithmeticException e) {
            integral = false;
        }
        if (!integral || v.compareTo(BigDecimal.valueOf(min)) < 0 || v.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw BadInputException.at(file, name, "expected " + range + ", found " + node);
        }
        return v.longValueExact();
    }

    /** A finite number in the given range (ends open or closed), or {@code fallback}. */
    public static double number(Path file, JsonNode parent, String key, String name, double fallback, Range range) {
        if (absent(parent, key)) {
            return fallback;
        }
        return number(file, parent.get(key), name, range);
    }

    /** A required finite number in the range. */
    public static double requiredNumber(Path file, JsonNode parent, String key, String name, Range range) {
        if (absent(parent, key)) {
            throw BadInputException.at(file, name, "required field is missing");
        }
        return number(file, parent.get(key), name, range);
    }

    public static double number(Path file, JsonNode node, String name, Range range) {
        if (!node.isNumber()) {
            throw BadInputException.at(file, name, "expected " + range + ", found " + describe(node));
        }
        double v = node.doubleValue();
        if (!range.contains(v)) {
            throw BadInputException.at(file, name, "expected " + range + ", found " + node);
        }
        return v;
    }

    /** true or false, or {@code fallback}. */
    public static boolean bool(Path file, JsonNode parent, String key, String name, boolean fallback) {
        if (absent(parent, key)) {
            return fallback;
        }
        JsonNode node = parent.get(key);
        if (!node.isBoolean()) {
            throw BadInputException.at(file, name, "expected true or false, found " + describe(node));
        }
        return node.booleanValue();
    }

    /** A string, or {@code fallback}. */
    public static String text(Path file, JsonNode parent, String key, String name, String fallback) {
        if (absent(parent, key)) {
            return fallback;
        }
        JsonNode node = parent.get(key);
        if (!node.isTextual()) {
            throw BadInputException.at(file, name, "expected a string, found " + describe(node));
        }
        return node.textValue();
    }

    /** A required string. */
    public static String requiredText(Path file, JsonNode parent, String key, String name) {
        if (absent(parent, key)) {
            throw BadInputException.at(file, name, "required field is missing");
        }
        return text(file, parent, key, name, null);
    }

    static String describe(JsonNode node) {
        String s = node.toString();
        String shown = s.length() > 40 ? s.substring(0, 37) + "..." : s;
        return switch (node.getNodeType()) {
            case STRING -> "the string " + shown;
            case OBJECT -> "an object";
            case ARRAY -> "a list";
            case BOOLEAN -> shown;
            case NULL -> "null";
            default -> shown;
        };
    }

    /** A range of finite numbers with open or closed ends, printed as in mathematics: (0, 1]. */
    public record Range(double min, boolean minClosed, double max, boolean maxClosed) {

        /** (0, inf): scales, learning rates, rope_theta. */
        public static final Range POSITIVE = new Range(0, false, Double.POSITIVE_INFINITY, false);
        /** [0, 1): dropout and other probabilities that must leave something. */
        public static final Range DROPOUT = new Range(0, true, 1, false);
        /** Any finite number. */
        public static final Range FINITE = new Range(Double.NEGATIVE_INFINITY, false, Double.POSITIVE_INFINITY, false);

        public boolean contains(double v) {
            return Double.isFinite(v) && (minClosed ? v >= min : v > min) && (maxClosed ? v <= max : v < max);
        }

        @Override
        public String toString() {
            if (this.equals(FINITE)) {
                return "a finite number";
            }
            return "a finite number in " + (minClosed ? "[" : "(") + show(min) + ", " + show(max) + (maxClosed ? "]" : ")");
        }

        private static String show(double d) {
            if (Double.isInfinite(d)) {
                return d > 0 ? "inf" : "-inf";
            }
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
        }
    }
}
