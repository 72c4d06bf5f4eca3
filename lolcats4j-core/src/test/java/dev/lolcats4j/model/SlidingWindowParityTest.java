package dev.lolcats4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.generate.Generator;
import dev.lolcats4j.generate.SamplingConfig;
import dev.lolcats4j.generate.Scorer;
import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.kernels.WarmUp;
import dev.lolcats4j.torch.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mistral's {@code sliding_window} and Qwen2's {@code use_sliding_window} / {@code
 * max_window_layers}, past the window: parallel forward, libtorch decode steps, the Java decode
 * kernels and greedy generation against a float64 reference written separately in plain loops
 * ({@link Float64Reference}).
 */
class SlidingWindowParityTest {

    private static final double TOLERANCE = 1e-4;
    private static final int VOCAB = 61;

    @TempDir
    static Path tmp;

    /** Mistral: W = 6 in both layers. */
    private static final ModelConfig MISTRAL = new ModelConfig("mistral", VOCAB, 32, 48, 2, 4, 2, 8, 1e-5, 10000.0, null,
            false, false, false, false, 1, List.of(2), 4096, 6, 0);
    /** Qwen2 (q/k/v biases, tied head): W = 5 from layer 1 on; layer 0 attends to everything. */
    private static final ModelConfig QWEN2 = new ModelConfig("qwen2", VOCAB, 32, 48, 3, 4, 2, 8, 1e-6, 10000.0, null,
            true, true, false, false, 1, List.of(2), 4096, 5, 1);

    private record Built(DecoderModel model, Float64Reference reference, Float64Reference fullAttention) {}

    /** A random model with sharp attention, written as a Hugging Face folder and loaded back. */
    private static Built build(ModelConfig config, String name, long seed) {
        DecoderModel random = ModelFactory.random(config, ComputeType.F32, seed);
        torch.manual_seed(seed);
        try (NoGradGuard g = new NoGradGuard()) {
            for (DecoderLayer layer : random.layers()) {
                layer.q.weight().mul_(Tensors.scalar(12));
                layer.k.weight().mul_(Tensors.scalar(12));
                for (Projection p : new Projection[] {layer.v, layer.o, layer.gate, layer.up, layer.down}) {
                    p.weight().mul_(Tensors.scalar(5));
                }
                for (Projection p : new Projection[] {layer.q, layer.k, layer.v}) {
                    if (p.bias() != null) {
                        p.bias().copy_(torch.randn(Tensors.shape(p.bias()), Tensors.options(Tensors.F32)).mul(Tensors.scalar(0.3)));
                    }
                }
                layer.inputNorm.add_(torch.randn(Tensors.shape(layer.inputNorm), Tensors.options(Tensors.F32)).mul(Tensors.scalar(0.2)));
                layer.postNorm.add_(torch.randn(Tensors.shape(layer.postNorm), Tensors.options(Tensors.F32)).mul(Tensors.scalar(0.2)));
            }
            random.embeddingWeight().mul_(Tensors.scalar(20));
        }
        Path dir = tmp.resolve(name);
        ModelWriter.save(random, dir, Tensors.F32);
        DecoderModel model = ModelLoader.load(dir, ComputeType.F32);
        int[] windows = new int[config.numLayers()];
        for (int l = 0; l < windows.length; l++) {
            windows[l] = config.slidingWindow(l);
        }
        return new Built(model, reference(dir, config, windows), reference(dir, config, new int[config.numLayers()]));
    }

    private static Float64Reference reference(Path dir, ModelConfig c, int[] windows) {
        return new Float64Reference(dir, new Float64Reference.Shape(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numLayers(),
                c.numHeads(), c.numKvHeads(), c.headDim(), c.rmsNormEps(), c.ropeTheta(), c.tieWordEmbeddings(), c.attentionBias(),
                windows));
    }

    private static int[] randomIds(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        return random.ints(n, 0, VOCAB).toArray();
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int t = 0; t < expected.length; t++) {
            assertEquals(expected[t], actual[t], TOLERANCE, what + " position " + t);
        }
    }

    @Test
    void configJsonWindowsFollowHuggingFace() throws IOException {
        Built mistral = build(MISTRAL, "mistral-config", 1);
        assertEquals(6, mistral.model().config().slidingWindow(0));
        assertEquals(6, mistral.model().config().slidingWindow(1));
        Built qwen = build(QWEN2, "qwen-config", 2);
        assertEquals(0, qwen.model().config().slidingWindow(0), "below max_window_layers: full attention");
        assertEquals(5, qwen.model().config().slidingWindow(1));
        assertEquals(5, qwen.model().config().slidingWindow(2));

        Path config = tmp.resolve("qwen-config/config.json");
        String text = Files.readString(config);
        assertTrue(text.contains("\"use_sliding_window\" : true") && text.contains("\"max_window_layers\" : 1"), text);
        // use_sliding_window false: sliding_window and max_window_layers are ignored, as in transformers.
        Path off = Files.createDirectories(tmp.resolve("qwen-off"));
        Files.writeString(off.resolve("config.json"), text.replace("\"use_sliding_window\" : true", "\"use_sliding_window\" : false"));
        assertEquals(0, ModelConfigReader.read(off).slidingWindow(2));
        // max_window_layers absent: transformers' default, 28.
        Files.writeString(off.resolve("config.json"), text.replace("\"max_window_layers\" : 1,", ""));
        assertEquals(0, ModelConfigReader.read(off).slidingWindow(2));
        assertEquals(5, ModelConfigReader.read(off).slidingWindow(28));
        // Mistral with "sliding_window": null attends to everything.
        String mistralText = Files.readString(tmp.resolve("mistral-config/config.json"));
        assertTrue(mistralText.contains("\"sliding_window\" : 6"), mistralText);
        Files.writeString(off.resolve("config.json"), mistralText.replace("\"sliding_window\" : 6", "\"sliding_window\" : null"));
        assertEquals(0, ModelConfigReader.read(off).slidingWindow(0));
    }

    @Test
    void parallelForwardMatchesTheReferencePastTheWindow() {
        for (Built b : List.of(build(MISTRAL, "mistral-score", 3), build(QWEN2, "qwen-score", 4))) {
            // 300 tokens: past the window many times over, and long enough for the blockwise prefill (blocks of 256).
            int[] ids = randomIds(300, 5);
            double[] expected = b.reference().logprobs(ids);
            String name = b.model().config().modelType();
            assertClose(expected, Scorer.logprobs(b.model(), ids), name + " parallel forward");
            double[] full = b.fullAttention().logprobs(ids);
            double largest = 0;
            for (int t = 0; t < full.length; t++) {
                largest = Math.max(largest, Math.abs(full[t] - expected[t]));
            }
            assertTrue(largest > 100 * TOLERANCE, name + ": the window must change the result for this test to mean anything ("
                    + largest + ")");
        }
    }

    @Test
    void decodeStepsMatchTheReferenceOnBothPaths() {
        for (Built b : List.of(build(MISTRAL, "mistral-decode", 6), build(QWEN2, "qwen-decode", 7))) {
            int[] ids = randomIds(40, 8);
            double[] expected = b.reference().logprobs(ids);
            String name = b.model().config().modelType();
            assertClose(expected, decodeLogprobs(b.model(), ids, false), name + " libtorch decode");
            WarmUp.awaitReady();
            assertTrue(VectorKernels.enabled(), String.valueOf(VectorKernels.unavailableReason()));
            assertClose(expected, decodeLogprobs(b.model(), ids, true), name + " kernel decode");
        }
    }

    /** One token at a time from empty caches: through libtorch (hidden + logits) or the model's decode step (kernels). */
    private static double[] decodeLogprobs(DecoderModel model, int[] ids, boolean kernels) {
        double[] out = new double[ids.length - 1];
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<LayerCache> caches = model.newCaches();
            for (int t = 0; t + 1 < ids.length; t++) {
                Tensor id = Tensors.ofLongs(new long[] {ids[t]}, 1, 1);
                Tensor position = Tensors.ofLongs(new long[] {t}, 1, 1);
                AttentionContext context = new AttentionContext(null, t);
                Tensor logits = kernels ? model.lastLogits(id, position, context, caches)
                        : model.logits(model.hidden(id, position, context, caches)).squeeze(1);
                out[t] = Tensors.toDoubles(logits.to(Tensors.F64).log_softmax(-1))[ids[t + 1]];
            }
        }
        return out;
    }

    @Test
    void greedyDecodeEqualsTheParallelForward() {
        for (Built b : List.of(build(MISTRAL, "mistral-greedy", 9), build(QWEN2, "qwen-greedy", 10))) {
            String name = b.model().config().modelType();
            int[] prompt = randomIds(4, 11);
            int[] generated = new Generator(b.model()).generate(prompt, SamplingConfig.greedy(24), null);
            int[] all = new int[prompt.length + generated.length];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            System.arraycopy(generated, 0, all, prompt.length, generated.length);
            int[] parallel;
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor logits = b.model().forward(Tensors.ofInts(all, 1, all.length)).argmax(new org.bytedeco.pytorch.LongOptional(-1),
                        false);
                parallel = Arrays.stream(Tensors.toLongs(logits)).mapToInt(v -> (int) v).toArray();
            }
            int[] reference = b.reference().argmax(all);
            for (int i = 0; i < generated.length; i++) {
                int at = prompt.length - 1 + i;
                assertEquals(parallel[at], generated[i], name + ": generated token " + i + " vs the parallel forward");
                assertEquals(reference[at], generated[i], name + ": generated token " + i + " vs the reference");
            }
            // Left-padded batch (prompts of 4 and 11 tokens): each row as when generated alone.
            int[] longer = randomIds(11, 12);
            List<int[]> batch = new Generator(b.model()).generateBatch(List.of(prompt, longer), SamplingConfig.greedy(24), null);
            assertArrayEquals(generated, batch.get(0), name + " batch row 0");
            assertArrayEquals(new Generator(b.model()).generate(longer, SamplingConfig.greedy(24), null), batch.get(1), name + " batch row 1");
        }
    }
}
