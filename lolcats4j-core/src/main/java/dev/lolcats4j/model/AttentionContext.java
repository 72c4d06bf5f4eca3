package dev.lolcats4j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * What an attention call needs besides q, k and v.
 *
 * @param keyValid [B, pastLength + N] bool, false for left padding; null when every key is real
 * @param pastLength tokens already in the layer caches before this call
 */
public record AttentionContext(Tensor keyValid, long pastLength) {

    public static AttentionContext unpadded() {
        return new AttentionContext(null, 0);
    }
}
