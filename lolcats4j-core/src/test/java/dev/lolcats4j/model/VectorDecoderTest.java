package dev.lolcats4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.kernels.WarmUp;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.testing.ParityFixtures.Case;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java decode step against libtorch's, on every parity model and adapter (GQA, tied and
 * llama3-scaled bf16 weights, qwen2 biases, unmerged LoRA, hybrid and softmax layers): the
 * same prefill, then several decode steps of a left-padded batch with both paths.
 */
class VectorDecoderTest {

    @BeforeAll
    static void init() {
        Natives.init();
        assertNull(VectorKernels.unavailableReason());
        WarmUp.awaitReady(); // decoding takes the kernels only once they are compiled
    }

    @AfterEach
    void restore() {
        VectorKernels.setEnabled(true);
    }

    static Stream<Arguments> cases() {
        Map<String, Case> distinct = new LinkedHashMap<>();
        for (Case c : ParityFixtures.cases()) {
            distinct.putIfAbsent(c.model() + "|" + c.adapter(), c);
        }
        List<Arguments> out = new ArrayList<>();
        for (Case c : distinct.values()) {
            out.add(Arguments.of(c.name(), c, ComputeType.F32));
            out.add(Arguments.of(c.name(), c, ComputeType.BF16));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("cases")
    void decodeStepsMatchLibtorch(String name, Case c, ComputeType type) {
        DecoderModel model = open(c, type);
        try (NoGradGuard g = new NoGradGuard()) {
            assertTrue(new VectorDecoder(model).applies(), "the Java decode step must take this model");
        }
        // The kernels keep activations float32 over bf16 weights; libtorch's bf16 path rounds
        // them (and its logits) to bf16. So the reference for bf16 is libtorch in float32 over
        // the same bf16-rounded weights: both paths then differ by float32 rounding only.
        DecoderModel reference = open(c, ComputeType.F32);
        if (type == ComputeType.BF16) {
            try (NoGradGuard g = new NoGradGuard()) {
                // The weights a bf16 model keeps in bf16: embeddings and projections (norms stay float32).
                for (Tensor w : reference.namedWeights().values()) {
                    if (w.dim() == 2) {
                        w.copy_(w.to(Tensors.BF16).to(Tensors.F32));
                    }
                }
            }
        }
        int[] prompt = c.tokenIds();
        List<float[][]> kernels = decode(model, prompt, true);
        List<float[][]> libtorch = decode(reference, prompt, false);
        for (int step = 0; step < kernels.size(); step++) {
            for (int b = 0; b < kernels.get(step).length; b++) {
                float[] k = kernels.get(step)[b];
                float[] l = libtorch.get(step)[b];
                for (int i = 0; i < k.length; i++) {
                    assertEquals(l[i], k[i], 2e-4, name + " step " + step + " row " + b + " logit " + i);
                }
            }
        }
    }

    private static DecoderModel open(Case c, ComputeType type) {
        DecoderModel model = ModelLoader.load(c.model(), type);
        if (c.adapter() != null) {
            Adapters.load(model, c.adapter());
        }
        return model;
    }

    /**
     * A batch of the prompt and its shorter suffix (left-padded), fed one token at a time from
     * position 0 and then continued for a few tokens: the logits of every step. Token by token,
     * so that even the cache contents come from the path under test.
     */
    private static List<float[][]> decode(DecoderModel model, int[] prompt, boolean kernels) {
        VectorKernels.setEnabled(kernels);
        int n = prompt.length;
        int pad = Math.min(3, n - 1);
        int total = n + 6;
        long[][] ids = new long[2][total];
        long[][] positions = new long[2][total];
        float[] valid = new float[2 * total];
        for (int t = 0; t < total; t++) {
            int token = prompt[t % n];
            ids[0][t] = token;
            positions[0][t] = t;
            valid[t] = 1;
            ids[1][t] = t < pad ? 0 : token;
            positions[1][t] = Math.max(0, t - pad);
            valid[total + t] = t < pad ? 0 : 1;
        }
        List<float[][]> steps = new ArrayList<>();
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<LayerCache> caches = model.newCaches();
            Tensor allValid = Tensors.ofFloats(valid, 2, total).gt(Tensors.scalar(0.5));
            for (int t = 0; t < total; t++) {
                Tensor logits = model.lastLogits(Tensors.ofLongs(new long[] {ids[0][t], ids[1][t]}, 2, 1),
                        Tensors.ofLongs(new long[] {positions[0][t], positions[1][t]}, 2, 1),
                        new AttentionContext(allValid.narrow(1, 0, t + 1), t), caches);
                steps.add(new float[][] {Tensors.toFloats(logits.select(0, 0)), Tensors.toFloats(logits.select(0, 1))});
            }
        }
        return steps;
    }
}
