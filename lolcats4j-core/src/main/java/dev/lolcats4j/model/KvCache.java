package dev.lolcats4j.model;

import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/** Softmax attention's key/value cache; grows with the context, capacity doubling. */
public final class KvCache implements LayerCache {

    private Tensor keys;   // [B, Hkv, capacity, d]
    private Tensor values;
    private long length;

    /** Appends [B, Hkv, N, d] keys and values; returns views of everything cached so far. */
    Tensor[] append(Tensor k, Tensor v) {
        long n = k.size(2);
        if (keys == null) {
            long capacity = Math.max(16, n);
            keys = Tensors.keep(Tensors.zeros(Tensors.F32, k.size(0), k.size(1), capacity, k.size(3)));
            values = Tensors.keep(Tensors.zeros(Tensors.F32, v.size(0), v.size(1), capacity, v.size(3)));
        } else if (length + n > keys.size(2)) {
            long capacity = Math.max(keys.size(2) * 2, length + n);
            keys = grow(keys, capacity);
            values = grow(values, capacity);
        }
        keys.narrow(2, length, n).copy_(k);
        values.narrow(2, length, n).copy_(v);
        length += n;
        return new Tensor[] {keys.narrow(2, 0, length), values.narrow(2, 0, length)};
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
