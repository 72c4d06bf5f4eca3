package dev.lolcats4j.io;

import dev.lolcats4j.BadInputException;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Element types a tensor can be stored in. Model weights use {@link #F32}, {@link #F16} and
 * {@link #BF16}; the integer and boolean types are read so token ids and masks can pass
 * through unchanged.
 */
public enum DType {
    F64(8, "F64"),
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    I64(8, "I64"),
    I32(4, "I32"),
    I16(2, "I16"),
    I8(1, "I8"),
    U8(1, "U8"),
    BOOL(1, "BOOL");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The name used in a safetensors header, e.g. {@code "BF16"}. */
    public String safetensorsName() {
        return safetensorsName;
    }

    /**
     * The type for a safetensors dtype name.
     *
     * @param file  the file being read, for the error message
     * @param field the header field being read, for the error message
     * @throws BadInputException if the name is not one of the supported types
     */
    public static DType fromSafetensors(String name, Path file, String field) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        throw BadInputException.at(file, field, "expected a dtype in "
                + Arrays.stream(values()).map(DType::safetensorsName).toList() + ", found \"" + name + "\"");
    }
}
