package dev.lolcats4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.lolcats.FeatureMapKind;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingTest {

    static final AdapterConfig SMALL = new AdapterConfig(AttentionKind.HYBRID_SW, FeatureMapKind.SOFTMAX_DIM, 32, 8,
            false, false, List.of(), null);

    @Test
    void attentionTransferLowersEveryLayersMseTenfold(@TempDir Path tmp) throws Exception {
        try (Tokenizer tokenizer = TrainingFixtures.byteTokenizer(tmp)) {
            PackedDataset data = TrainingFixtures.pack(tokenizer, TrainingFixtures.corpus(tmp, 600, 1), 64);
            DecoderModel model = TrainingFixtures.sharpRandomModel(3);
            Adapters.convert(model, SMALL);
            AttentionTransfer transfer = new AttentionTransfer(model, SMALL);
            Batch heldOut = Batch.of(data.heldOut());
            double[] before = transfer.layerMse(heldOut);
            TrainConfig config = new TrainConfig(200, 1e-2, 0, 4, 4, "plateau", 0, 1e-5, 0.1, 10, 0, 50, 4, 0, 42);
            new TrainLoop(transfer, data, config, tmp.resolve("out"), TrainListener.SILENT).run(false);
            double[] after = transfer.layerMse(heldOut);
            for (int layer = 0; layer < before.length; layer++) {
                assertTrue(before[layer] > 1e-6, "the teacher's attention must differ from the swapped one at the start");
                assertTrue(after[layer] * 10 <= before[layer],
                        "layer " + layer + ": MSE " + before[layer] + " -> " + after[layer] + " (less than tenfold)");
            }
            assertTrue(Files.isRegularFile(tmp.resolve("out/best/adapter.safetensors")));
            assertTrue(Files.isRegularFile(tmp.resolve("out/metrics.csv")));
            assertTrue(Files.size(tmp.resolve("out/loss.png")) > 1000);
        }
    }

    @Test
    void attentionCrossEntropyTermAddsToTheLossAndTrains(@TempDir Path tmp) throws Exception {
        try (Tokenizer tokenizer = TrainingFixtures.byteTokenizer(tmp)) {
            PackedDataset data = TrainingFixtures.pack(tokenizer, TrainingFixtures.corpus(tmp, 200, 6), 32);
            DecoderModel model = TrainingFixtures.sharpRandomModel(8);
            Adapters.convert(model, SMALL);
            Batch batch = Batch.of(data.heldOut());
            double mseOnly = new AttentionTransfer(model, SMALL, 0).evalLoss(batch);
            AttentionTransfer withXent = new AttentionTransfer(model, SMALL, 1.0);
            double before = withXent.evalLoss(batch);
            // Cross-entropy of a distribution against another is positive: the term adds to the loss.
            assertTrue(before > mseOnly + 1e-3, mseOnly + " vs " + before);
            TrainConfig config = new TrainConfig(30, 1e-2, 0, 2, 2, "plateau", 0, 1e-5, 0.1, 10, 0, 0, 2, 0, 42);
            new TrainLoop(withXent, data, config, tmp.resolve("out"), TrainListener.SILENT).run(false);
            double after = withXent.evalLoss(batch);
            assertTrue(Double.isFinite(after) && after < before, before + " -> " + after);
        }
    }

    @Test
    void loraStageChangesOnlyLoraTensors(@TempDir Path tmp) throws Exception {
        try (Tokenizer tokenizer = TrainingFixtures.byteTokenizer(tmp)) {
            PackedDataset data = TrainingFixtures.pack(tokenizer, TrainingFixtures.corpus(tmp, 200, 2), 32);
            DecoderModel model = TrainingFixtures.sharpRandomModel(4);
            AdapterConfig config = SMALL.withLora(LoraConfig.defaults());
            Adapters.convert(model, config);
            Map<String, float[]> frozenBefore = snapshot(model.namedWeights());
            Map<String, Tensor> adapter = Adapters.tensors(model, config);
            Map<String, float[]> adapterBefore = snapshot(adapter);
            TrainConfig train = new TrainConfig(5, 1e-3, 0, 2, 2, "plateau", 0, 1e-5, 0.1, 10, 0, 0, 2, 0, 42);
            new TrainLoop(new LoraFinetune(model, config, false), data, train, tmp.resolve("out"), TrainListener.SILENT).run(false);

            snapshot(model.namedWeights()).forEach((name, values) ->
                    assertArrayEquals(frozenBefore.get(name), values, 0f, name + " must stay bit-identical"));
            Map<String, float[]> adapterAfter = snapshot(adapter);
            for (String name : adapterBefore.keySet()) {
                boolean changed = !java.util.Arrays.equals(adapterBefore.get(name), adapterAfter.get(name));
                boolean isLora = name.contains(".lora_");
                if (isLora && name.contains("lora_B")) {
                    assertTrue(changed, name + " should have trained");
                }
                if (!isLora) {
                    assertFalse(changed, name + " (feature map / window factor) must stay frozen in stage 2");
                }
            }
        }
    }

    @Test
    void pretrainingLowersTheLoss(@TempDir Path tmp) throws Exception {
        try (Tokenizer tokenizer = TrainingFixtures.byteTokenizer(tmp)) {
            PackedDataset data = TrainingFixtures.pack(tokenizer, TrainingFixtures.corpus(tmp, 400, 3), 32);
            DecoderModel model = ModelFactory.random(TrainingFixtures.tinyConfig(), ComputeType.F32, 5);
            Pretraining objective = new Pretraining(model, true);
            double before = objective.evalLoss(Batch.of(data.heldOut()));
            TrainConfig config = new TrainConfig(40, 3e-3, 0.1, 8, 4, "cosine", 4, 3e-4, 0.1, 10, 1.0, 20, 4, 0, 42);
            TrainResult result = new TrainLoop(objective, data, config, tmp.resolve("out"), TrainListener.SILENT).run(false);
            double after = objective.evalLoss(Batch.of(data.heldOut()));
            assertTrue(after < before * 0.6, "held-out loss " + before + " -> " + after);
            assertEquals(40, result.steps());
            assertTrue(Files.isRegularFile(tmp.resolve("out/final/config.json")));
        }
    }

    static Map<String, float[]> snapshot(Map<String, Tensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, Tensors.toFloats(t)));
        return out;
    }
}
