package dev.lolcats4j.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds the tokenizer that belongs to a model folder. */
public final class Tokenizers {

    private Tokenizers() {
    }

    /**
     * The tokenizer of a Hugging Face model folder.
     *
     * @param modelDir a model folder
     * @return an {@link HfTokenizer} if {@code modelDir/tokenizer.json} exists, else empty
     * @throws dev.lolcats4j.BadInputException if tokenizer.json or its companion configuration
     *     files are malformed
     */
    public static Optional<Tokenizer> forModel(Path modelDir) {
        Path file = dev.lolcats4j.io.InputFiles.refuseSpecial(modelDir.resolve(HfTokenizer.TOKENIZER_JSON));
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        HfTokenizer tokenizer = HfTokenizer.load(modelDir);
        Path config = modelDir.resolve("config.json");
        if (Files.isRegularFile(config)) {
            int vocab = dev.lolcats4j.model.ModelConfigReader.read(modelDir).vocabSize();
            if (tokenizer.vocabSize() > vocab) {
                tokenizer.close();
                // The model has no embedding row for such ids: refuse before any text is encoded.
                throw dev.lolcats4j.BadInputException.at(modelDir.resolve(HfTokenizer.TOKENIZER_JSON), "model.vocab",
                        "has token ids up to " + (tokenizer.vocabSize() - 1) + ", beyond the model's vocab_size "
                                + vocab + " (" + config + ")");
            }
        }
        return Optional.of(tokenizer);
    }
}
