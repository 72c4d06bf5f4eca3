package dev.lolcats4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.lolcats.FeatureMapKind;
import dev.lolcats4j.lolcats.HybridAttention;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.torch.Tensors;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** One definition of what trains in stage 1 and stage 2; which tensors weight decay applies to. */
class TrainableTensorsTest {

    private static final AdapterConfig WITH_BIAS = new AdapterConfig(AttentionKind.HYBRID_SW, FeatureMapKind.SOFTMAX_DIM, 8, 4,
            false, true, List.of(), LoraConfig.defaults());

    private static Set<Tensor> identitySet(List<Tensor> tensors) {
        Set<Tensor> set = Collections.newSetFromMap(new IdentityHashMap<>());
        set.addAll(tensors);
        return set;
    }

    @Test
    void trainFeatureMapsInStageTwoTrainsWhatStageOneTrains() {
        DecoderModel model = ModelFactory.random(TrainingFixtures.tinyConfig(), ComputeType.F32, 1);
        Adapters.convert(model, WITH_BIAS);
        Set<Tensor> stage1 = identitySet(new AttentionTransfer(model, WITH_BIAS.withLora(null)).parameters());
        // 2 layers x (2 weights + 2 biases + window factors)
        assertEquals(2 * 5, stage1.size());
        int biases = 0;
        for (DecoderLayer layer : model.layers()) {
            HybridAttention hybrid = (HybridAttention) layer.attention();
            assertTrue(stage1.contains(hybrid.params().featureQ().bias()) && stage1.contains(hybrid.params().featureK().bias()));
            biases += 2;
        }
        assertEquals(4, biases);

        Set<Tensor> stage2 = identitySet(new LoraFinetune(model, WITH_BIAS, true).parameters());
        assertTrue(stage2.containsAll(stage1), "stage 2 with --train-feature-maps must train every stage-1 tensor");
        assertEquals(stage1.size() + 2 * 2 * 4, stage2.size(), "plus A and B of 4 targets on 2 layers");

        Set<Tensor> frozen = identitySet(new LoraFinetune(model, WITH_BIAS, false).parameters());
        for (Tensor t : stage1) {
            assertFalse(frozen.contains(t));
            assertFalse(t.requires_grad(), "frozen feature-map tensors record no gradient");
        }
    }

    @Test
    void pretrainingDecaysNeitherNormsNorBiases() {
        ModelConfig base = TrainingFixtures.tinyConfig();
        // qwen2-style: q/k/v biases.
        ModelConfig config = new ModelConfig("qwen2", base.vocabSize(), base.hiddenSize(), base.intermediateSize(), base.numLayers(),
                base.numHeads(), base.numKvHeads(), base.headDim(), 1e-6, 10000.0, null, false, true, false, false,
                base.bosTokenId(), base.eosTokenIds(), 64);
        DecoderModel model = ModelFactory.random(config, ComputeType.F32, 2);
        Pretraining objective = new Pretraining(model, false);
        int exempt = 0;
        for (var e : model.namedWeights().entrySet()) {
            String name = e.getKey();
            boolean normOrBias = name.endsWith("layernorm.weight") || name.equals("model.norm.weight") || name.endsWith(".bias");
            assertEquals(!normOrBias, objective.decays(e.getValue()), name);
            exempt += normOrBias ? 1 : 0;
        }
        assertEquals(2 * (2 + 3) + 1, exempt, "2 norms and 3 biases per layer, and the final norm");
    }

    @Test
    void adamWSkipsDecayForExemptTensors() {
        // With zero gradients Adam's update is 0, so only decay moves a weight: w * (1 - lr * wd).
        Tensor decayed = Tensors.ones(Tensors.F32, 2, 2).set_requires_grad(true);
        Tensor exempt = Tensors.ones(Tensors.F32, 3).set_requires_grad(true);
        decayed.sum().add(exempt.sum()).mul(Tensors.scalar(0)).backward();
        AdamW adam = new AdamW(List.of(decayed, exempt), p -> p == decayed, 0.9, 0.999, 1e-8, 0.5);
        adam.step(0.1);
        assertArrayEquals(new float[] {0.95f, 0.95f, 0.95f, 0.95f}, Tensors.toFloats(decayed), 1e-7f);
        assertArrayEquals(new float[] {1f, 1f, 1f}, Tensors.toFloats(exempt), 0f);
    }
}
