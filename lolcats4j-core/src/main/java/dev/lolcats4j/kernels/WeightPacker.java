package dev.lolcats4j.kernels;

import dev.lolcats4j.torch.Tensors;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Moves a model's large weights, in place, into one buffer backed by huge pages, in the order
 * a decode step reads them. Each tensor keeps its identity, dtype, shape and values; only its
 * storage changes (Tensor.set_), so libtorch's prefill and the kernels share the same bytes
 * and nothing is held twice. The old storage is freed as each tensor moves, so the peak stays
 * near one copy.
 */
public final class WeightPacker {

    private static final long ALIGN = 4096;

    private WeightPacker() {}

    /**
     * Packs the given tensors (duplicates by identity are packed once). Returns false, leaving
     * everything as it was, if any is not a contiguous CPU bf16/f32 tensor or records gradients
     * (training owns those).
     */
    public static boolean pack(List<Tensor> weights) {
        // Checked before isPacked: a lone small tensor can sit on a page boundary by chance.
        for (Tensor t : weights) {
            if (!MatrixView.supports(t) || t.requires_grad()) {
                return false;
            }
        }
        if (isPacked(weights)) {
            return true; // e.g. loaded straight into their slots by the model loader
        }
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long total = 0;
        for (Tensor t : weights) {
            if (seen.add(t)) {
                total += align(t.nbytes());
            }
        }
        if (total == 0) {
            return false;
        }
        // The scope frees the temporary handles (the buffer, the slots) at once: left to the
        // garbage collector, they would keep the whole buffer alive after the model closes.
        try (NoGradGuard g = new NoGradGuard(); org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            Tensor buffer = Tensors.empty(Tensors.U8, total + ALIGN);
            long address = buffer.data_ptr().address();
            // Before the first touch: the pages are only allocated by the copies below.
            HugePages.advise(address, total + ALIGN);
            seen.clear();
            // Every matrix starts on a page boundary: the kernels streamed 22.8 GB/s from
            // page-aligned matrices and 18.6 GB/s from the same ones 64 bytes further on.
            long offset = (ALIGN - address % ALIGN) % ALIGN;
            for (Tensor t : weights) {
                if (!seen.add(t)) {
                    continue;
                }
                long[] shape = Tensors.shape(t);
                long[] strides = contiguousStrides(shape);
                long elementOffset = offset / t.element_size();
                Tensor slot = Tensors.empty(t.scalar_type(), 0);
                slot.set_(buffer.storage(), elementOffset, shape, strides);
                slot.copy_(t);
                t.set_(buffer.storage(), elementOffset, shape, strides);
                offset += align(t.nbytes());
            }
        }
        return true;
    }

    /**
     * Empty tensors of the given shapes, all of one dtype, laid out as {@link #pack} would: one
     * huge-page buffer, page-aligned, in order. Loaders copy weights straight into them, which
     * touches the memory once instead of cloning first and packing later.
     */
    public static List<Tensor> slots(List<long[]> shapes, org.bytedeco.pytorch.global.torch.ScalarType type) {
        long elementSize = Tensors.empty(type, 0).element_size();
        long total = 0;
        for (long[] shape : shapes) {
            total += align(elementSize * count(shape));
        }
        List<Tensor> out = new java.util.ArrayList<>();
        try (NoGradGuard g = new NoGradGuard(); org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            Tensor buffer = Tensors.empty(Tensors.U8, total + ALIGN);
            long address = buffer.data_ptr().address();
            HugePages.advise(address, total + ALIGN);
            long offset = (ALIGN - address % ALIGN) % ALIGN;
            for (long[] shape : shapes) {
                Tensor slot = Tensors.empty(type, 0);
                slot.set_(buffer.storage(), offset / elementSize, shape, contiguousStrides(shape));
                out.add(Tensors.keep(slot));
                offset += align(elementSize * count(shape));
            }
        }
        return out;
    }

    /** True when the tensors already sit one after the other, page-aligned, in one buffer, in this order. */
    static boolean isPacked(List<Tensor> weights) {
        long expected = -1;
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : weights) {
            if (!seen.add(t)) {
                continue;
            }
            long address = t.data_ptr().address();
            if (address % ALIGN != 0 || expected >= 0 && address != expected || !t.is_contiguous()) {
                return false;
            }
            expected = address + align(t.nbytes());
        }
        return expected >= 0;
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    private static long align(long bytes) {
        return (bytes + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long stride = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = stride;
            stride *= shape[i];
        }
        return strides;
    }
}
