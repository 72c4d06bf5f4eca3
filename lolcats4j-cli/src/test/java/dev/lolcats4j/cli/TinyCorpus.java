package dev.lolcats4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A small repetitive English text for training-command tests, written to DIR/corpus.txt. */
final class TinyCorpus {

    private TinyCorpus() {}

    /** {@code phrases} phrases joined by " and ", a paragraph break after every seventh. */
    static Path write(Path dir, int phrases) throws IOException {
        StringBuilder text = new StringBuilder();
        String[] words = {"the whale", "a ship", "the sea", "my captain", "the harpoon", "a storm"};
        for (int i = 0; i < phrases; i++) {
            text.append(words[i % words.length]).append(i % 7 == 0 ? ".\n\n" : " and ");
        }
        Path file = dir.resolve("corpus.txt");
        Files.writeString(file, text.toString());
        return file;
    }
}
