package dev.lolcats4j.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.lolcats.FeatureMapKind;
import dev.lolcats4j.lolcats.HybridAttention;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.torch.Tensors;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * Recurrent decoding (O(1) state per layer) produces exactly what the parallel forward of the
 * same model predicts at every position, for a long generation that crosses the window many times.
 */
class LinearizedDecodeTest {

    static DecoderModel linearized(AttentionKind kind, int window, long seed) {
        ModelConfig config = new ModelConfig("llama", 97, 64, 128, 2, 4, 2, 16, 1e-5, 10000.0, null, false, false, false,
                false, 1, List.of(), 4096); // no EOS: generation always runs to max
        DecoderModel model = ModelFactory.random(config, ComputeType.F32, seed);
        // Larger weights than the init default so that predictions depend strongly on context.
        for (DecoderLayer layer : model.layers()) {
            for (String p : new String[] {"q_proj", "k_proj", "v_proj"}) {
                layer.projection(p).weight().mul_(Tensors.scalar(20));
            }
        }
        model.embeddingWeight().mul_(Tensors.scalar(40));
        if (kind == null) {
            return model; // the softmax original
        }
        Adapters.convert(model, new AdapterConfig(kind, FeatureMapKind.SOFTMAX_DIM, 8, window, false, false, List.of(), null));
        for (DecoderLayer layer : model.layers()) {
            HybridAttention hybrid = (HybridAttention) layer.attention();
            hybrid.params().featureQ().weight().add_(torch.randn(Tensors.shape(hybrid.params().featureQ().weight())));
            hybrid.params().featureK().weight().add_(torch.randn(Tensors.shape(hybrid.params().featureK().weight())));
        }
        return model;
    }

    @Test
    void thousandGreedyTokensMatchTheParallelArgmax() {
        DecoderModel model = linearized(AttentionKind.HYBRID_SW, 64, 11);
        int[] prompt = {1, 5, 9, 33, 12, 70, 4};
        int steps = 1000;
        int[] generated = new Generator(model).generate(prompt, new SamplingConfig(0, 1, 0, steps), null);
        assertEquals(steps, generated.length, "generation stopped early");
        int[] all = new int[prompt.length + steps];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(generated, 0, all, prompt.length, steps);
        int ties = 0;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor logits = model.forward(Tensors.ofInts(all, 1, all.length)).squeeze(0);
            for (int t = 0; t < steps; t++) {
                int position = prompt.length - 1 + t;
                float[] row = Tensors.toFloats(logits.select(0, position));
                int best = Sampler.argmax(row);
                if (best != generated[t]) {
                    // Only an exact near-tie may differ between two summation orders.
                    assertTrue(Math.abs(row[best] - row[generated[t]]) < 1e-4,
                            "step " + t + ": parallel argmax " + best + " vs decoded " + generated[t]);
                    ties++;
                }
            }
        }
        assertTrue(ties <= 2, "too many near-ties: " + ties);
        assertTrue(distinct(generated) > 5, "generation degenerated to a constant; the test would be too weak");
    }

    @Test
    void batchedPromptsOfDifferentLengthsDecodeLikeSinglePrompts() {
        // null: the softmax model with its KV cache
        for (AttentionKind kind : new AttentionKind[] {null, AttentionKind.HYBRID_SW, AttentionKind.LINEAR}) {
            DecoderModel model = linearized(kind, 4, 5);
            List<int[]> prompts = List.of(new int[] {1, 7, 8, 9, 10, 11, 12, 13, 14}, new int[] {1, 20}, new int[] {1, 30, 31, 32, 33});
            Generator generator = new Generator(model);
            List<int[]> batched = generator.generateBatch(prompts, SamplingConfig.greedy(12), null);
            for (int i = 0; i < prompts.size(); i++) {
                int[] single = generator.generate(prompts.get(i), SamplingConfig.greedy(12), null);
                assertArrayEquals(single, batched.get(i), (kind == null ? "softmax" : kind) + " prompt " + i);
            }
        }
    }

    private static long distinct(int[] ids) {
        return java.util.Arrays.stream(ids).distinct().count();
    }
}
