package dev.lolcats4j.kernels;

import dev.lolcats4j.torch.Tensors;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A row-major matrix (or vector, as one row) read in place from a libtorch tensor's buffer:
 * no copy, so the kernels see the same bytes libtorch's prefill uses.
 *
 * @param data the tensor's bytes
 * @param rows first dimension (1 for a vector)
 * @param cols elements per row
 * @param bf16 true for bfloat16 elements, false for float32
 * @param owner the tensor, held so that its buffer outlives this view; null for memory the
 *     caller keeps alive itself
 */
public record MatrixView(MemorySegment data, int rows, int cols, boolean bf16, Tensor owner) {

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** True if {@link #of} accepts this tensor: contiguous bf16 or float32, one or two dimensions. */
    public static boolean supports(Tensor t) {
        ScalarType type = t.scalar_type();
        return (Tensors.same(type, ScalarType.BFloat16) || Tensors.same(type, ScalarType.Float)) && t.dim() >= 1 && t.dim() <= 2
                && t.is_contiguous() && t.device().is_cpu();
    }

    /** A view of a contiguous bf16 or float32 tensor of one or two dimensions. */
    public static MatrixView of(Tensor t) {
        if (!supports(t)) {
            throw new IllegalArgumentException("expected a contiguous CPU bf16 or float32 matrix, found "
                    + t.scalar_type() + " with " + t.dim() + " dimensions" + (t.is_contiguous() ? "" : ", not contiguous"));
        }
        int rows = t.dim() == 1 ? 1 : Math.toIntExact(t.size(0));
        int cols = Math.toIntExact(t.size(-1));
        MemorySegment data = MemorySegment.ofAddress(t.data_ptr().address()).reinterpret(t.nbytes());
        return new MatrixView(data, rows, cols, Tensors.same(t.scalar_type(), ScalarType.BFloat16), t);
    }

    /** True while the tensor still lives at the address this view reads (always, without one). */
    public boolean isCurrent() {
        return owner == null || owner.data_ptr().address() == data.address();
    }

    /** Element {@code i} in row-major order, as float. */
    public float get(long i) {
        return bf16 ? Float.intBitsToFloat((data.getAtIndex(BF16, i) & 0xffff) << 16) : data.getAtIndex(F32, i);
    }

    /** Row {@code row} into {@code out} at {@code offset}, as floats. */
    public void copyRow(int row, float[] out, int offset) {
        long base = (long) row * cols;
        for (int c = 0; c < cols; c++) {
            out[offset + c] = get(base + c);
        }
    }

    /** Bytes a full pass over this matrix reads. */
    public long bytes() {
        return data.byteSize();
    }
}
