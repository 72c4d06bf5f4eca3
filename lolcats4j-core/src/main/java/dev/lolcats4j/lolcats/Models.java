package dev.lolcats4j.lolcats;

import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.model.ModelWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Entry points for "base folder + adapter folder" models, like PEFT: open one, or merge it
 * into a standalone folder.
 */
public final class Models {

    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json");

    private Models() {}

    /**
     * Loads a base model and applies an adapter: the given folder, else one stored inside the
     * model folder itself (a merged standalone folder), else none.
     */
    public static DecoderModel open(Path modelDir, Path adapterDir, ComputeType computeType) {
        DecoderModel model = ModelLoader.load(modelDir, computeType);
        adapterFolder(modelDir, adapterDir).ifPresent(dir -> Adapters.load(model, dir));
        return model;
    }

    /** The adapter folder that {@link #open} would apply. */
    public static Optional<Path> adapterFolder(Path modelDir, Path adapterDir) {
        if (adapterDir != null) {
            return Optional.of(adapterDir);
        }
        boolean embedded = Files.isRegularFile(modelDir.resolve(AdapterConfigJson.FILE_NAME))
                && Files.isRegularFile(modelDir.resolve(Adapters.WEIGHTS_FILE));
        return embedded ? Optional.of(modelDir) : Optional.empty();
    }

    /**
     * Writes a standalone folder: base weights with LoRA folded in (stored as {@code storeType}),
     * the feature maps and window factors as an embedded adapter without LoRA, and the base
     * folder's tokenizer files.
     */
    public static void merge(Path modelDir, Path adapterDir, Path outDir, ScalarType storeType) {
        DecoderModel model = ModelLoader.load(modelDir, ComputeType.F32);
        AdapterConfig config = Adapters.load(model, adapterDir);
        ModelWriter.save(model, outDir, storeType);
        Adapters.save(model, config.withLora(null), outDir);
        for (String name : TOKENIZER_FILES) {
            Path source = modelDir.resolve(name);
            if (Files.isRegularFile(source)) {
                AtomicFiles.write(outDir.resolve(name), out -> Files.copy(source, out));
            }
        }
    }
}
