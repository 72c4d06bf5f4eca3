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

    private final AdapterConfig config;

    public LoraFinetune(DecoderModel model, AdapterConfig config, boolean trainFeatureMaps) {
        super(model);
        this.config = config;
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

    @Override
    public void save(Path dir) {
        Adapters.save(model, config, dir);
    }
}
