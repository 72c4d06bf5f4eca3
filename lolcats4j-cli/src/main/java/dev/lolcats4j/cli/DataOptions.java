package dev.lolcats4j.cli;

import dev.lolcats4j.data.BadLinePolicy;
import dev.lolcats4j.data.DocumentReader;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** Training data: files and folders, how they are packed and split. */
public final class DataOptions {

    @Option(names = "--data", required = true, arity = "1..*", paramLabel = "F",
            description = "Text files or folders (.txt, .md), JSONL with a \"text\" field, or Alpaca JSON/JSONL "
                    + "(instruction/input/output; loss on the response only).")
    List<Path> files;

    @Option(names = "--seq-len", converter = Flags.SequenceTokens.class, defaultValue = "1024", paramLabel = "N",
            description = "Tokens per packed training sequence (default: ${DEFAULT-VALUE}).")
    int sequenceLength;

    @Option(names = "--held-out", converter = Flags.Fraction.class, defaultValue = "0.05", paramLabel = "FRACTION",
            description = "Share of packed sequences kept for evaluation (default: ${DEFAULT-VALUE}).")
    double heldOut;

    @Option(names = "--on-bad-line", defaultValue = "fail", paramLabel = "fail|skip",
            description = "A malformed data line stops the run (fail) or is reported and skipped (default: ${DEFAULT-VALUE}).")
    String onBadLine;

    @Option(names = "--data-seed", converter = Flags.Seed.class, defaultValue = "42", paramLabel = "S",
            description = "Seed of the training order (default: ${DEFAULT-VALUE}).")
    long seed;

    /** Checks the options and the --data paths, before any model is loaded. */
    void validate() {
        policy();
        checkFiles();
    }

    /**
     * Checks the --data paths before any work: each exists and is a regular file or a folder
     * (never a FIFO or a device, which would block or never end).
     */
    private void checkFiles() {
        for (Path f : files) {
            InputText.refuseSpecial("--data", f);
            if (!java.nio.file.Files.exists(f)) {
                throw new dev.lolcats4j.BadInputException("--data " + f + ": data file or folder not found");
            }
        }
    }

    private BadLinePolicy policy() {
        return switch (onBadLine.toLowerCase(Locale.ROOT)) {
            case "fail" -> BadLinePolicy.FAIL;
            case "skip" -> BadLinePolicy.SKIP;
            default -> throw new dev.lolcats4j.BadInputException("--on-bad-line: expected fail or skip, found \"" + onBadLine + "\"");
        };
    }

    /** Tokenizes and packs the data, reporting counts on {@code status}. */
    PackedDataset load(Tokenizer tokenizer, PrintWriter status) {
        if (sequenceLength < 2) {
            throw new dev.lolcats4j.BadInputException("--seq-len: expected at least 2, found " + sequenceLength);
        }
        if (heldOut < 0 || heldOut >= 1) {
            throw new dev.lolcats4j.BadInputException("--held-out: expected a fraction in [0, 1), found " + heldOut);
        }
        BadLinePolicy policy = policy();
        long start = System.nanoTime();
        PackedDataset.Packer packer = PackedDataset.packer(sequenceLength);
        new DocumentReader(tokenizer, policy, message -> status.println("warning: " + message)).read(files, packer);
        PackedDataset data = packer.finish(heldOut, seed);
        status.printf(Locale.ROOT, "data: %d train and %d held-out sequences of %d tokens (%.1f s)%n",
                data.train().size(), data.heldOut().size(), sequenceLength, (System.nanoTime() - start) / 1e9);
        status.flush();
        if (data.train().isEmpty()) {
            throw new dev.lolcats4j.BadInputException("--data: fewer than " + (sequenceLength + 1)
                    + " tokens in total; add data or lower --seq-len");
        }
        return data;
    }
}
