package dev.lolcats4j.cpu;

/**
 * How a model whose matmuls run in bf16 computes its softmax attention over a prompt (chosen per
 * machine by {@link DtypeRule#softmaxPath}); models with float32 matmuls always use
 * {@link #F32_SDPA}, and a single decode step always runs in float32.
 */
public enum SoftmaxPath {
    /** libtorch's fused kernel in float32. */
    F32_SDPA("f32 (fused SDPA)"),
    /** libtorch's fused kernel in bf16 (fast where it runs on AMX tiles). */
    BF16_SDPA("bf16 (fused SDPA)"),
    /**
     * A plain causal prompt in bf16 query chunks on the bf16 GEMM
     * ({@link dev.lolcats4j.model.BlockedCausalAttention}); padded, windowed or continued
     * prompts and anything under autograd stay on the float32 fused kernel.
     */
    BF16_BLOCKED("bf16 in query chunks (plain causal prompts; others f32 fused SDPA)");

    private final String description;

    SoftmaxPath(String description) {
        this.description = description;
    }

    /** For `lolcats info` and bench results. */
    public String description() {
        return description;
    }
}
