package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Turning text given on the command line into token ids with the model folder's tokenizer. */
final class InputText {

    private InputText() {}

    static String readFile(String flag, Path file) {
        refuseSpecial(flag, file);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(flag + " " + file + ": file not found");
        }
        try {
            return Files.readString(file);
        } catch (CharacterCodingException e) {
            throw new BadInputException(flag + " " + file + ": not valid UTF-8 text");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    /** {@link dev.lolcats4j.io.InputFiles#refuseSpecial}, with the flag named in the message. */
    static void refuseSpecial(String flag, Path path) {
        try {
            dev.lolcats4j.io.InputFiles.refuseSpecial(path);
        } catch (BadInputException e) {
            throw new BadInputException(flag + " " + e.getMessage(), e);
        }
    }

    /** The tokenizer, or a bad-input error naming the model folder and the alternative flag. */
    static Tokenizer require(Optional<Tokenizer> tokenizer, Path modelDir) {
        return tokenizer.orElseThrow(() ->
                new BadInputException(modelDir + ": tokenizer.json: not found; use --token-ids"));
    }
}
