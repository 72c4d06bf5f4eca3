package dev.lolcats4j.model;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** The dtype weights are held in and matmuls run in. Norms, softmax and states stay float32. */
public enum ComputeType {
    F32(Tensors.F32),
    BF16(Tensors.BF16);

    private final ScalarType scalarType;

    ComputeType(ScalarType scalarType) {
        this.scalarType = scalarType;
    }

    public ScalarType scalarType() {
        return scalarType;
    }

    /** Parses "f32", "fp32", "float32", "bf16", "bfloat16". */
    public static ComputeType parse(String text) {
        return switch (text.toLowerCase(java.util.Locale.ROOT)) {
            case "f32", "fp32", "float32" -> F32;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new BadInputException("--dtype: expected f32 or bf16, found \"" + text + "\"");
        };
    }
}
