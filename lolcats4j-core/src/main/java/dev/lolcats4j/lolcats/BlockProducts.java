package dev.lolcats4j.lolcats;

/**
 * The dtype of the block products in the chunked hybrid attention ({@link HybridKernels#chunked}).
 *
 * <p>{@link #INPUT}: every product in the inputs' dtype (float32): what scoring, generation and
 * the parity tests use. {@link #BF16}: operands rounded to bfloat16 (8 significant bits), each
 * product (the feature maps' x W included) accumulated by the GEMM kernel and returned as float32
 * (kept in bf16 where it is only the operand of the next product); the softmax (max, exp), the
 * running linear sums S and z, the window factors and the final division stay float32. This is
 * the precision of a bf16 model's own attention (a bf16 {@code q k^T} with a float32 softmax),
 * and on CPUs with native bf16 GEMMs (AVX512-BF16, AMX) the small batched products run several
 * times faster. Training uses it when its matmuls are bf16 (docs/method.md, "Precision").
 */
public enum BlockProducts {
    /** Products in the inputs' dtype. */
    INPUT,
    /** bf16 operands, float32 results. */
    BF16
}
