package dev.lolcats4j.cpu;

import dev.lolcats4j.BadInputException;
import java.util.Locale;

/** What {@code --dtype} asked for: {@code auto} (the default) lets {@link DtypeRule} choose. */
public enum DtypeRequest {
    AUTO, F32, BF16;

    /** Parses "auto", "f32"/"fp32"/"float32", "bf16"/"bfloat16"; {@code flag} names the option in errors. */
    public static DtypeRequest parse(String flag, String text) {
        if (text == null) {
            return AUTO;
        }
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "f32", "fp32", "float32" -> F32;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new BadInputException(flag + ": expected auto, f32 or bf16, found \"" + text + "\"");
        };
    }

    public static DtypeRequest parse(String text) {
        return parse("--dtype", text);
    }
}
