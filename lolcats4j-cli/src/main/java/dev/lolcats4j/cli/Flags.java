package dev.lolcats4j.cli;

import dev.lolcats4j.Limits;
import dev.lolcats4j.lolcats.LoraConfig;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Range-checked converters for numeric options: every numeric option of every command names
 * one of these in {@code converter = ...}, so a value outside its range (NaN, an infinity, a
 * negative or zero count, an int overflow) is refused while the command line is parsed, before
 * any file is read or any model loaded. Picocli reports the failure as
 * {@code Invalid value for option '--batch' (N): expected an integer in [1, 2147483647], found 0},
 * which the CLI prints as its one {@code error:} line with exit code 2. Checks that involve two
 * options or a file (micro-batch divides batch, a layer index below the model's layer count)
 * are done by the commands' {@code validate()} methods, still before the first expensive step.
 */
final class Flags {

    private Flags() {}

    /** An integer in [min, max]; overflow of the Java type is reported as out of range too. */
    abstract static class IntRange implements ITypeConverter<Integer> {
        private final long min;
        private final long max;
        private final String what;

        IntRange(long min, long max, String what) {
            this.min = min;
            this.max = max;
            this.what = what;
        }

        @Override
        public Integer convert(String value) {
            long v;
            try {
                v = Long.parseLong(value.strip());
            } catch (NumberFormatException e) {
                throw new TypeConversionException(expected() + ", found \"" + value + "\"");
            }
            if (v < min || v > max) {
                throw new TypeConversionException(expected() + ", found " + v);
            }
            return (int) v;
        }

        String expected() {
            return "expected " + what + " in [" + min + ", " + max + "]";
        }
    }

    /** A count of at least one: steps, batch sizes, ranks, dimensions, periods. */
    static final class Positive extends IntRange {
        Positive() {
            super(1, Integer.MAX_VALUE, "an integer");
        }
    }

    /** A TCP port; 0 lets the system pick a free one. */
    static final class Port extends IntRange {
        Port() {
            super(0, 65535, "a port");
        }
    }

    /** A count that may be zero: warmup steps, few-shot examples. */
    static final class NonNegative extends IntRange {
        NonNegative() {
            super(0, Integer.MAX_VALUE, "an integer");
        }
    }

    /** A sequence length in tokens (training, eval): at least 2, at most {@link Limits#MAX_TOKENS}. */
    static final class SequenceTokens extends IntRange {
        SequenceTokens() {
            super(2, Limits.MAX_TOKENS, "a length in tokens");
        }
    }

    /** A token count where 0 means "the default" (eval --context, --stride). */
    static final class TokensOrDefault extends IntRange {
        TokensOrDefault() {
            super(0, Limits.MAX_TOKENS, "a length in tokens (0 = default)");
        }
    }

    /** Tokens to generate. */
    static final class NewTokens extends IntRange {
        NewTokens() {
            super(1, Limits.MAX_TOKENS, "a number of tokens");
        }
    }

    /** A sliding-window size W. */
    static final class Window extends IntRange {
        Window() {
            super(1, Limits.MAX_WINDOW, "a window size in tokens");
        }
    }

    /** A feature-map dimension F. */
    static final class FeatureDim extends IntRange {
        FeatureDim() {
            super(1, Limits.MAX_FEATURE_DIM, "a feature dimension");
        }
    }

    /** A LoRA rank. */
    static final class Rank extends IntRange {
        Rank() {
            super(1, Limits.MAX_LORA_RANK, "a rank");
        }
    }

    /** A layer index (checked against the model's layer count once its config.json is read). */
    static final class LayerIndex extends IntRange {
        LayerIndex() {
            super(0, Integer.MAX_VALUE - 1, "a layer index");
        }
    }

    /** A model dimension for pretrain (hidden size, heads, layers, MLP width). */
    static final class ModelSize extends IntRange {
        ModelSize() {
            super(1, 1 << 20, "a size");
        }
    }

    /** Key-value pairs of the sparse cache: 0 (none) up to {@link SparseCacheOption#MAX_PAIRS}. */
    static final class CachePairs extends IntRange {
        CachePairs() {
            super(0, SparseCacheOption.MAX_PAIRS, "a number of pairs");
        }
    }

    /** Any 64-bit integer (seeds); only malformed numbers are refused. */
    static final class Seed implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Long.parseLong(value.strip());
            } catch (NumberFormatException e) {
                throw new TypeConversionException("expected a 64-bit integer, found \"" + value + "\"");
            }
        }
    }

    /** A projection that can carry LoRA: q_proj, k_proj, v_proj or o_proj. */
    static final class LoraTarget implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            String name = value.strip();
            if (!LoraConfig.ALL_TARGETS.contains(name)) {
                throw new TypeConversionException("expected names from " + String.join(",", LoraConfig.ALL_TARGETS)
                        + ", found \"" + value + "\"");
            }
            return name;
        }
    }

    /** A finite number in a range whose ends may be open or closed. */
    abstract static class DoubleRange implements ITypeConverter<Double> {
        private final double min;
        private final boolean minClosed;
        private final double max;
        private final boolean maxClosed;

        DoubleRange(double min, boolean minClosed, double max, boolean maxClosed) {
            this.min = min;
            this.minClosed = minClosed;
            this.max = max;
            this.maxClosed = maxClosed;
        }

        @Override
        public Double convert(String value) {
            double v;
            try {
                v = Double.parseDouble(value.strip());
            } catch (NumberFormatException e) {
                throw new TypeConversionException(expected() + ", found \"" + value + "\"");
            }
            boolean aboveMin = minClosed ? v >= min : v > min;
            boolean belowMax = maxClosed ? v <= max : v < max;
            if (!Double.isFinite(v) || !aboveMin || !belowMax) {
                throw new TypeConversionException(expected() + ", found " + value.strip());
            }
            return v;
        }

        String expected() {
            return "expected a finite number in " + (minClosed ? "[" : "(") + format(min) + ", " + format(max)
                    + (maxClosed ? "]" : ")");
        }

        private static String format(double d) {
            if (Double.isInfinite(d)) {
                return d > 0 ? "inf" : "-inf";
            }
            return d == Math.rint(d) ? String.format(Locale.ROOT, "%.0f", d) : Double.toString(d);
        }
    }

    /** A learning rate, a LoRA alpha, a memory budget: finite and above zero. */
    static final class PositiveReal extends DoubleRange {
        PositiveReal() {
            super(0, false, Double.POSITIVE_INFINITY, false);
        }
    }

    /** Weight decay, a clipping norm, a temperature, a loss weight: finite and not negative. */
    static final class NonNegativeReal extends DoubleRange {
        NonNegativeReal() {
            super(0, true, Double.POSITIVE_INFINITY, false);
        }
    }

    /** A share or a dropout probability: [0, 1). */
    static final class Fraction extends DoubleRange {
        Fraction() {
            super(0, true, 1, false);
        }
    }

    /** A probability mass that must keep something: (0, 1]. */
    static final class Probability extends DoubleRange {
        Probability() {
            super(0, false, 1, true);
        }
    }
}
