package dev.lolcats4j.model;

import dev.lolcats4j.kernels.TensorMemory;
import dev.lolcats4j.torch.Tensors;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.bytedeco.pytorch.Tensor;

/** Softmax attention's key/value cache; grows with the context, capacity doubling. */
public final class KvCache implements LayerCache {

    private Tensor keys;   // [B, Hkv, capacity, d] float32
    private Tensor values;
    private long length;
    // The buffers' bytes and capacity, kept beside the tensors so that a Java decode step
    // makes no libtorch call at all unless the buffers grow.
    private MemorySegment keyBytes;
    private MemorySegment valueBytes;
    private long capacity;
    private long expected;
    private Tensor maskTensor;
    private boolean[] maskBits;

    /** Appends [B, Hkv, N, d] keys and values; returns views of everything cached so far. */
    Tensor[] append(Tensor k, Tensor v) {
        long n = k.size(2);
        reserve(k.size(0), k.size(1), n, k.size(3));
        keys.narrow(2, length, n).copy_(k);
        values.narrow(2, length, n).copy_(v);
        length += n;
        return new Tensor[] {keys.narrow(2, 0, length), values.narrow(2, 0, length)};
    }

    /**
     * Appends one position from float arrays [B, Hkv, d], written straight into the buffers
     * (the Java decode step; no libtorch call unless the buffers must grow).
     */
    void appendOne(float[] k, float[] v, int batch, int kvHeads, int d) {
        reserve(batch, kvHeads, 1, d);
        for (int row = 0; row < batch * kvHeads; row++) {
            long at = ((long) row * capacity + length) * d;
            MemorySegment.copy(k, row * d, keyBytes, ValueLayout.JAVA_FLOAT_UNALIGNED, at * 4, d);
            MemorySegment.copy(v, row * d, valueBytes, ValueLayout.JAVA_FLOAT_UNALIGNED, at * 4, d);
        }
        length++;
    }

    /** The key buffer [B, Hkv, capacity, d] float32 in place; valid until the next append. */
    MemorySegment keyBytes() {
        return keyBytes;
    }

    /** The value buffer, laid out like {@link #keyBytes()}. */
    MemorySegment valueBytes() {
        return valueBytes;
    }

    long capacity() {
        return capacity;
    }

    @Override
    public void expectPositions(long positions) {
        expected = Math.max(0, positions);
    }

    private void reserve(long batch, long kvHeads, long n, long d) {
        if (keys == null) {
            capacity = Math.max(Math.max(16, n), expected);
            keys = Tensors.keep(Tensors.zeros(Tensors.F32, batch, kvHeads, capacity, d));
            values = Tensors.keep(Tensors.zeros(Tensors.F32, batch, kvHeads, capacity, d));
        } else if (length + n > capacity) {
            capacity = Math.max(capacity * 2, length + n);
            keys = grow(keys, capacity);
            values = grow(values, capacity);
        } else {
            return;
        }
        keyBytes = TensorMemory.floats(keys);
        valueBytes = TensorMemory.floats(values);
    }

    /**
     * The step's key mask [B, length] as booleans, or null without padding; read from libtorch
     * once per mask tensor (a generator makes one per step).
     */
    boolean[] keyValid(AttentionContext context, int batch) {
        Tensor mask = context.keyValid();
        if (mask == null) {
            return null;
        }
        if (mask != maskTensor) {
            long[] bits = Tensors.toLongs(mask);
            maskBits = new boolean[bits.length];
            for (int i = 0; i < bits.length; i++) {
                maskBits[i] = bits[i] != 0;
            }
            maskTensor = mask;
        }
        if (maskBits.length != batch * length) {
            throw new IllegalStateException("key mask covers " + maskBits.length / batch + " positions, the cache " + length);
        }
        return maskBits;
    }

    private Tensor grow(Tensor old, long capacity) {
        Tensor bigger = Tensors.zeros(Tensors.F32, old.size(0), old.size(1), capacity, old.size(3));
        bigger.narrow(2, 0, length).copy_(old.narrow(2, 0, length));
        return Tensors.keep(bigger);
    }

    public long length() {
        return length;
    }

    @Override
    public long bytes() {
        return keys == null ? 0 : 2 * keys.size(0) * keys.size(1) * length * keys.size(3) * 4;
    }
}
