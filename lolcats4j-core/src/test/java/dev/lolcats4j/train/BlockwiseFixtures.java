package dev.lolcats4j.train;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelWriter;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.train.blockwise.HiddenStateCache;
import java.nio.file.Path;
import java.util.List;

/** A tiny model folder and data for the block-wise tests. */
final class BlockwiseFixtures {

    private BlockwiseFixtures() {}

    /**
     * The sharp random model stored in bf16: loaded in float32 its embeddings are exactly
     * representable in bf16, so the cached inputs of block 0 are lossless.
     */
    static Path model(Path dir, long seed) {
        Natives.init();
        DecoderModel m = TrainingFixtures.sharpRandomModel(seed);
        ModelWriter.save(m, dir, Tensors.BF16);
        return dir;
    }

    static PackedDataset data(Path work, int sentences, int length) throws Exception {
        try (Tokenizer tokenizer = TrainingFixtures.byteTokenizer(work)) {
            return TrainingFixtures.pack(tokenizer, TrainingFixtures.corpus(work, sentences, 1), length);
        }
    }

    /** Stage-1-only options with small shards (so the cache has several). */
    static LinearizeOptions options(Path model, Path out, int steps, int batch, int micro, Integer blockwise, Path cache) {
        return new LinearizeOptions(model, ComputeType.F32, null, out, "transfer", false, TrainingTest.SMALL,
                dev.lolcats4j.lolcats.LoraConfig.defaults(), steps, 1e-2, 0, null, 1e-4, false, batch, micro, 0, 4, 4, 10,
                4, 42, blockwise == null ? null : new LinearizeOptions.Blockwise(blockwise, "local", null, cache, 1, 64 * 1024));
    }

    static List<Integer> boundaries(int layers, int k) {
        return dev.lolcats4j.train.blockwise.BlockwiseTransfer.boundaries(layers, k);
    }

    static long shardBytes() {
        return HiddenStateCache.DEFAULT_SHARD_BYTES;
    }
}
