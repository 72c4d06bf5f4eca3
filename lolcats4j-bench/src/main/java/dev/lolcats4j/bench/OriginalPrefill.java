package dev.lolcats4j.bench;

import dev.lolcats4j.model.Attention;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.Lora;
import dev.lolcats4j.model.Projection;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * The original (softmax, no LoRA) model's no-grad forward, run on a model that is being
 * linearized: each layer's LoLCATs attention and LoRA updates are set aside for the call and
 * put back after it, whatever happens. This lets the train benchmark time the original's prefill
 * between training steps on the same weights, so that both see the same state of a noisy
 * machine, without holding a second copy of the model.
 */
final class OriginalPrefill {

    private static final String[] PROJECTIONS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

    private OriginalPrefill() {}

    /** Logits of the original model for {@code ids} [B, N]. */
    static Tensor run(DecoderModel model, Tensor ids) {
        List<DecoderLayer> layers = model.layers();
        Attention[] attentions = new Attention[layers.size()];
        Lora[][] loras = new Lora[layers.size()][PROJECTIONS.length];
        try {
            for (int i = 0; i < attentions.length; i++) {
                DecoderLayer layer = layers.get(i);
                attentions[i] = layer.attention();
                layer.setAttention(layer.softmaxAttention()); // its SDPA dtype follows the matmuls, as when loaded
                for (int p = 0; p < PROJECTIONS.length; p++) {
                    Projection projection = layer.projection(PROJECTIONS[p]);
                    loras[i][p] = projection.lora();
                    if (loras[i][p] != null) {
                        projection.setLora(null);
                    }
                }
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                return model.forward(ids);
            }
        } finally {
            for (int i = 0; i < attentions.length && attentions[i] != null; i++) {
                DecoderLayer layer = layers.get(i);
                layer.setAttention(attentions[i]);
                for (int p = 0; p < PROJECTIONS.length; p++) {
                    if (loras[i][p] != null) {
                        layer.projection(PROJECTIONS[p]).setLora(loras[i][p]);
                    }
                }
            }
        }
    }
}
