package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.Lora;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.model.Projection;
import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.torch.Tensors;
import dev.lolcats4j.train.LoraFinetune;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA and layers kept as softmax, as the reference does it: stage 2 puts no LoRA there, and
 * loading accepts adapters with or without LoRA on those layers (but not without it elsewhere).
 */
class SoftmaxLayerLoraTest {

    private static final AdapterConfig KEEP_LAYER_1 = new AdapterConfig(AttentionKind.HYBRID_SW, FeatureMapKind.SOFTMAX_DIM, 8, 4,
            false, false, List.of(1), LoraConfig.defaults());
    private static final Tensor IDS = Tensors.ofLongs(new long[] {3, 17, 99, 4, 250, 12, 8, 77, 1, 5}, 1, 10);

    private static DecoderModel base() {
        return ModelLoader.load(ParityFixtures.path("models/llama-f32"), ComputeType.F32);
    }

    /** A converted model whose LoRA B matrices are random, so that LoRA changes the outputs. */
    private static DecoderModel trained() {
        DecoderModel model = base();
        torch.manual_seed(11);
        Adapters.convert(model, KEEP_LAYER_1);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < model.layers().size(); i++) {
                for (String target : LoraConfig.ALL_TARGETS) {
                    Lora lora = model.layers().get(i).projection(target).lora();
                    if (lora != null) {
                        lora.b().copy_(torch.randn(Tensors.shape(lora.b()), Tensors.options(Tensors.F32)).mul(Tensors.scalar(0.05)));
                    }
                }
            }
        }
        return model;
    }

    private static float[] logits(DecoderModel model) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return Tensors.toFloats(model.forward(IDS));
        }
    }

    @Test
    void stageTwoPutsNoLoraOnSoftmaxLayers() {
        DecoderModel model = trained();
        for (String target : LoraConfig.ALL_TARGETS) {
            assertNotNull(model.layers().get(0).projection(target).lora(), "converted layer 0 " + target);
            assertNull(model.layers().get(1).projection(target).lora(), "softmax layer 1 " + target);
        }
        assertTrue(model.layers().get(1).attention() instanceof dev.lolcats4j.model.SoftmaxAttention);
        LoraFinetune stage2 = new LoraFinetune(model, KEEP_LAYER_1, false);
        assertEquals(2 * LoraConfig.ALL_TARGETS.size(), stage2.parameters().size(), "A and B of 4 targets on one layer");
        assertTrue(Adapters.tensors(model, KEEP_LAYER_1).keySet().stream()
                .noneMatch(name -> name.contains("layers.1.") && name.contains("lora")), "no LoRA saved for layer 1");
    }

    @Test
    void adapterWithoutLoraOnSoftmaxLayersLoads(@TempDir Path tmp) {
        DecoderModel model = trained();
        Adapters.save(model, KEEP_LAYER_1, tmp);
        DecoderModel loaded = base();
        Adapters.load(loaded, tmp);
        assertNull(loaded.layers().get(1).projection("q_proj").lora());
        assertArrayEquals(logits(model), logits(loaded), 0f);
        assertFalse(java.util.Arrays.equals(logits(base()), logits(loaded)), "the LoRA on layer 0 must change the logits");
    }

    @Test
    void extraLoraOnASoftmaxLayerIsApplied(@TempDir Path tmp) {
        DecoderModel model = trained();
        float[] without = logits(model);
        Projection q = model.layers().get(1).projection("q_proj");
        torch.manual_seed(12);
        q.setLora(new Lora(torch.randn(new long[] {8, q.inFeatures()}, Tensors.options(Tensors.F32)).mul(Tensors.scalar(0.1)),
                torch.randn(new long[] {q.outFeatures(), 8}, Tensors.options(Tensors.F32)).mul(Tensors.scalar(0.1)), 2.0, 0));
        float[] with = logits(model);
        assertFalse(java.util.Arrays.equals(without, with), "the extra LoRA must matter for this check to mean anything");
        Adapters.save(model, KEEP_LAYER_1, tmp);
        DecoderModel loaded = base();
        Adapters.load(loaded, tmp);
        assertNotNull(loaded.layers().get(1).projection("q_proj").lora());
        assertArrayEquals(with, logits(loaded), 0f);
    }

    @Test
    void missingLoraOnAConvertedLayerOrHalfALoraIsRefused(@TempDir Path tmp) {
        DecoderModel model = trained();
        Path full = tmp.resolve("full");
        Adapters.save(model, KEEP_LAYER_1, full);
        String layer0 = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight";
        Path missing = rewrite(full, tmp.resolve("missing"), Map.of(), layer0);
        BadInputException e = assertThrows(BadInputException.class, () -> Adapters.load(base(), missing));
        assertTrue(e.getMessage().contains(layer0) && e.getMessage().contains("tensor missing"), e.getMessage());

        // Half a LoRA on a softmax layer (A without B) is a broken file, not "no LoRA".
        String layer1a = "base_model.model.model.layers.1.self_attn.v_proj.lora_A.default.weight";
        Path half = rewrite(full, tmp.resolve("half"), Map.of(layer1a, Tensors.toData(Tensors.zeros(Tensors.F32, 8, 64))));
        e = assertThrows(BadInputException.class, () -> Adapters.load(base(), half));
        assertTrue(e.getMessage().contains("layers.1.self_attn.v_proj.lora_B") && e.getMessage().contains("tensor missing"),
                e.getMessage());
    }

    /** A copy of an adapter folder with tensors added and some left out. */
    private static Path rewrite(Path from, Path to, Map<String, TensorData> add, String... drop) {
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(from.resolve(Adapters.WEIGHTS_FILE))) {
            for (String name : file.tensors().keySet()) {
                if (!List.of(drop).contains(name)) {
                    tensors.put(name, file.get(name));
                }
            }
        }
        tensors.putAll(add);
        dev.lolcats4j.io.AtomicFiles.createDirectories(to);
        SafetensorsWriter.write(to.resolve(Adapters.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        dev.lolcats4j.io.AtomicFiles.write(to.resolve(AdapterConfigJson.FILE_NAME),
                out -> java.nio.file.Files.copy(from.resolve(AdapterConfigJson.FILE_NAME), out));
        return to;
    }
}
