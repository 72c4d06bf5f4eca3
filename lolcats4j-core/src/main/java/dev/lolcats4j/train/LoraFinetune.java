package dev.lolcats4j.train;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.HybridAttention;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.Lora;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * Stage 2 (lolcats-method.md section 6): LoRA on the target projections, next-token
 * cross-entropy with label masking; feature maps and window factors frozen unless asked.
 */
public final class LoraFinetune extends NextTokenObjective {

    /** Above this share of physical memory, stage 2 recomputes each layer in the backward. */
    static final double CHECKPOINT_ABOVE_SHARE_OF_RAM = 0.25;

    private final AdapterConfig config;
    private final boolean layerByLayer;

    public LoraFinetune(DecoderModel model, AdapterConfig config, boolean trainFeatureMaps) {
        this(model, config, trainFeatureMaps, false);
    }

    /**
     * @param layerByLayer activation checkpointing: keep only the layers' inputs in the forward
     *     and recompute each layer in the backward (same gradients, a second forward, one
     *     layer's graph in memory instead of all; see {@link #wantsCheckpointing})
     */
    public LoraFinetune(DecoderModel model, AdapterConfig config, boolean trainFeatureMaps, boolean layerByLayer) {
        super(model);
        this.config = config;
        this.layerByLayer = layerByLayer;
        dev.lolcats4j.lolcats.Adapters.useTrainingBlockProducts(model.layers());
        for (DecoderLayer layer : model.layers()) {
            for (String target : config.lora().targets()) {
                // Layers kept as softmax have no LoRA unless a loaded adapter brought some.
                Lora lora = layer.projection(target).lora();
                if (lora != null) {
                    parameters.add(lora.a());
                    parameters.add(lora.b());
                }
            }
            if (layer.attention() instanceof HybridAttention hybrid) {
                List<Tensor> maps = hybrid.params().trainableTensors();
                if (trainFeatureMaps) {
                    parameters.addAll(maps);
                } else {
                    maps.forEach(t -> t.set_requires_grad(false));
                }
            }
        }
        parameters.forEach(t -> t.set_requires_grad(true));
    }

    /**
     * True when a full-graph backward over {@code tokens} tokens per micro-batch would keep
     * more than a quarter of this machine's memory in activations: then stage 2 checkpoints.
     */
    public static boolean wantsCheckpointing(dev.lolcats4j.model.ModelConfig c, double tokens) {
        return dev.lolcats4j.model.MemoryEstimate.backwardActivationBytes(c, tokens)
                > CHECKPOINT_ABOVE_SHARE_OF_RAM * dev.lolcats4j.model.MemoryEstimate.physicalBytes();
    }

    @Override
    public double trainStep(Batch batch, double scale) {
        return layerByLayer ? LanguageModelLoss.backwardLayerByLayer(model, batch, scale) : super.trainStep(batch, scale);
    }

    @Override
    public void save(Path dir) {
        Adapters.save(model, config, dir);
    }
}
