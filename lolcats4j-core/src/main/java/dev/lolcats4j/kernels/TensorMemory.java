package dev.lolcats4j.kernels;

import dev.lolcats4j.torch.Tensors;
import java.lang.foreign.MemorySegment;
import org.bytedeco.pytorch.Tensor;

/** The bytes of a contiguous CPU float32 tensor, in place (valid while the tensor lives and keeps its storage). */
public final class TensorMemory {

    private TensorMemory() {}

    /** True if {@link #floats} accepts this tensor. */
    public static boolean isFloats(Tensor t) {
        return t != null && Tensors.same(t.scalar_type(), Tensors.F32) && t.is_contiguous() && t.device().is_cpu();
    }

    /** The tensor's buffer; it must be a contiguous CPU float32 tensor. */
    public static MemorySegment floats(Tensor t) {
        if (!isFloats(t)) {
            throw new IllegalArgumentException("expected a contiguous CPU float32 tensor, found " + t.scalar_type());
        }
        return MemorySegment.ofAddress(t.data_ptr().address()).reinterpret(t.nbytes());
    }
}
