package dev.lolcats4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.lolcats.FeatureMapKind;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Stage 2 with activation checkpointing ({@link LanguageModelLoss#backwardLayerByLayer}) gives
 * the loss and every trainable gradient of the full-graph backward.
 */
class LayerByLayerBackwardTest {

    @BeforeAll
    static void init() {
        Natives.init();
    }

    @Test
    void checkpointedBackwardGivesTheSameLossAndGradients() {
        AdapterConfig config = new AdapterConfig(AttentionKind.HYBRID_SW, FeatureMapKind.SOFTMAX_DIM, 8, 4, false, true,
                List.of(), LoraConfig.defaults());
        DecoderModel model = ModelFactory.random(TrainingFixtures.tinyConfig(), ComputeType.F32, 1);
        Adapters.convert(model, config);
        torch.manual_seed(5);
        Adapters.addLora(model, config);
        // Feature maps train too, so gradients reach through the hybrid attention's both parts.
        LoraFinetune plain = new LoraFinetune(model, config, true, false);
        LoraFinetune checkpointed = new LoraFinetune(model, config, true, true);
        List<Tensor> parameters = plain.parameters();
        // LoRA B starts at zero: give it values so that every path carries gradient.
        for (Tensor p : parameters) {
            try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                p.add_(torch.randn(p.sizes().vec().get(), Tensors.options(p.scalar_type())).mul(Tensors.scalar(0.05)));
            }
        }
        int vocab = model.config().vocabSize();
        long[] ids = new long[2 * 21];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7 + 3) % vocab;
        }
        Tensor all = Tensors.ofLongs(ids, 2, 21);
        Tensor mask = Tensors.ones(Tensors.F32, 2, 20);
        Batch batch = new Batch(all.narrow(1, 0, 20).contiguous(), all.narrow(1, 1, 20).contiguous(), mask);

        double expectedLoss = plain.trainStep(batch, 0.5);
        List<float[]> expected = gradients(parameters);
        double loss = checkpointed.trainStep(batch, 0.5);
        List<float[]> actual = gradients(parameters);

        assertEquals(expectedLoss, loss, 1e-6);
        assertEquals(expected.size(), actual.size());
        double largest = 0;
        for (int i = 0; i < expected.size(); i++) {
            float[] e = expected.get(i);
            float[] a = actual.get(i);
            for (int j = 0; j < e.length; j++) {
                assertEquals(e[j], a[j], 1e-5 + 1e-4 * Math.abs(e[j]), "parameter " + i + " element " + j);
                largest = Math.max(largest, Math.abs(e[j]));
            }
        }
        assertTrue(largest > 1e-4, "gradients are not all zero: " + largest);
    }

    /** Copies of every gradient, then clears them. */
    private static List<float[]> gradients(List<Tensor> parameters) {
        List<float[]> out = new ArrayList<>();
        for (Tensor p : parameters) {
            out.add(Tensors.toFloats(p.grad().contiguous()));
            p.grad().zero_();
        }
        return out;
    }
}
