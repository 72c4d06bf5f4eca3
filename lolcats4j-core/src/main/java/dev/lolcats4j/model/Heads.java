package dev.lolcats4j.model;

import org.bytedeco.pytorch.Tensor;

/** Grouped-query helpers. */
public final class Heads {

    private Heads() {}

    /** [B, Hkv, N, d] to [B, Hkv * group, N, d]; query head h reads key/value head h / group. */
    public static Tensor expand(Tensor kv, int group) {
        return group == 1 ? kv : kv.repeat_interleave(group, new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional());
    }
}
