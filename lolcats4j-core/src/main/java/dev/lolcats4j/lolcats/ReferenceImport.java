package dev.lolcats4j.lolcats;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.DType;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.io.TorchCheckpointReader;
import dev.lolcats4j.model.DecoderModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Imports the reference implementation's torch.save checkpoints ({'model_state_dict': ...},
 * a stage-1 file and optionally a LoRA file) into a lolcats4j adapter folder.
 */
public final class ReferenceImport {

    private static final String STATE_KEY = "model_state_dict";

    private ReferenceImport() {}

    /**
     * @param distill the stage-1 checkpoint (feature maps, window factors)
     * @param lora the stage-2 checkpoint, or null
     * @param config the adapter config describing the checkpoints
     * @param model if given, every tensor is checked against it before anything is written
     */
    public static void run(Path distill, Path lora, AdapterConfig config, DecoderModel model, Path outDir) {
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        Map<String, Path> origin = new LinkedHashMap<>();
        collect(distill, tensors, origin);
        if (lora != null) {
            collect(lora, tensors, origin);
        }
        boolean hasLora = tensors.keySet().stream().anyMatch(n -> n.contains(".lora_A."));
        if (hasLora && config.lora() == null) {
            throw new BadInputException((lora != null ? lora : distill)
                    + ": holds LoRA weights but the adapter config has \"lora\": null");
        }
        if (model != null) {
            // A missing LoRA tensor belongs in the LoRA file, anything else in the stage-1 file.
            Path loraFile = lora != null ? lora : distill;
            Adapters.apply(model, config, new Adapters.TensorSource(
                    name -> origin.getOrDefault(name, name.contains(".lora_") ? loraFile : distill), tensors.keySet(), tensors::get));
        }
        AtomicFiles.createDirectories(outDir);
        SafetensorsWriter.write(outDir.resolve(Adapters.WEIGHTS_FILE), tensors, Map.of("format", "pt", "source", "reference torch.save"));
        AtomicFiles.writeString(outDir.resolve(AdapterConfigJson.FILE_NAME), AdapterConfigJson.toJson(config));
    }

    /** Keeps the adapter's tensors (feature maps, window factors, LoRA) as float32. */
    private static void collect(Path file, Map<String, TensorData> out, Map<String, Path> origin) {
        Map<String, TensorData> state = TorchCheckpointReader.readStateDict(file, STATE_KEY);
        int before = out.size();
        state.forEach((name, data) -> {
            if (name.contains("feature_map_") || name.endsWith("window_factors") || name.contains(".lora_")) {
                TensorData f32 = toFloat32(data);
                requireFinite(file, name, f32);
                out.put(name, f32);
                origin.put(name, file);
            }
        });
        if (out.size() == before) {
            throw BadInputException.at(file, STATE_KEY, "no feature_map, window_factors or lora tensors found");
        }
    }

    /** A NaN or an infinity in a checkpoint would give NaN scores later; refuse it here, by name. */
    private static void requireFinite(Path file, String name, TensorData data) {
        float[] values = data.toFloatArray();
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw BadInputException.at(file, STATE_KEY + "." + name, "holds a non-finite value (" + values[i]
                        + " at element " + i + "); the checkpoint is damaged or training diverged");
            }
        }
    }

    private static TensorData toFloat32(TensorData data) {
        return data.dtype() == DType.F32 ? data : TensorData.ofFloats(data.shape(), data.toFloatArray());
    }
}
