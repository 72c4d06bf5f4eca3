package dev.lolcats4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.RecallText;
import dev.lolcats4j.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lolcats data recall}: pretraining documents that mix corpus text with synthetic recall
 * sequences (MQAR key-value lists, passkeys and copied strings hidden in corpus filler), one JSONL line
 * {@code {"text": ...}} each, every document exactly {@code --doc-tokens - 2} ASCII characters
 * so that, with the byte-level tokenizer ({@code <s>} + bytes + {@code </s>}), each fills one
 * packed sequence of {@code --seq-len = --doc-tokens} and no recall sequence is cut in two.
 */
@Command(name = "recall", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write pretraining documents (JSONL, {\"text\": ...}) mixing corpus windows, MQAR key-value lists "
                + "with queries, passkeys and copied random strings hidden in corpus filler, with retrieval distances up to "
                + "--max-distance.",
                "Deterministic for a given --seed and corpus. Documents are sized for the byte-level tokenizer."})
public final class RecallDataCommand implements Callable<Integer> {

    private enum Kind { corpus, mqar, passkey, copy, repeat }

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--corpus", required = true, paramLabel = "F", description = "UTF-8 text: corpus windows and filler come from it.")
    Path corpus;

    @Option(names = "--out", required = true, paramLabel = "F", description = "JSONL file to write.")
    Path out;

    @Option(names = "--documents", defaultValue = "8000", paramLabel = "N", description = "Documents to write (default: ${DEFAULT-VALUE}).")
    int documents;

    @Option(names = "--doc-tokens", defaultValue = "1024", paramLabel = "N",
            description = "Byte-level tokens per document including <s> and </s>; pretrain with --seq-len N (default: ${DEFAULT-VALUE}).")
    int docTokens;

    @Option(names = "--max-distance", defaultValue = "1000", paramLabel = "N",
            description = "Largest retrieval distance in characters (= byte tokens) (default: ${DEFAULT-VALUE}).")
    int maxDistance;

    @Option(names = "--mix", defaultValue = "corpus=0.4,mqar=0.4,passkey=0.2", paramLabel = "K=W,...",
            split = ",", description = "Shares of corpus, mqar, passkey, copy and repeat documents (default: ${DEFAULT-VALUE}).")
    Map<String, Double> mix;

    @Option(names = "--mqar-pairs", defaultValue = "2-16", paramLabel = "MIN-MAX",
            description = "Key-value pairs per MQAR document, drawn uniformly (default: ${DEFAULT-VALUE}; at most 26, one per "
                    + "capital letter, and at most (doc-tokens - 4) / 10). More pairs give more retrieval targets per document.")
    String mqarPairs;

    @Option(names = "--seed", defaultValue = "1", description = "Generator seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--force", description = "Replace an existing --out.")
    boolean force;

    @Override
    public Integer call() throws IOException {
        Map<Kind, Double> shares = new EnumMap<>(Kind.class);
        for (Map.Entry<String, Double> e : mix.entrySet()) {
            Kind kind;
            try {
                kind = Kind.valueOf(e.getKey());
            } catch (IllegalArgumentException ex) {
                throw new BadInputException("--mix: expected kinds corpus, mqar, passkey, copy, repeat, found \"" + e.getKey() + "\"");
            }
            shares.put(kind, e.getValue());
        }
        RecallText.Mix weights;
        try {
            weights = new RecallText.Mix(shares.getOrDefault(Kind.corpus, 0.0), shares.getOrDefault(Kind.mqar, 0.0),
                    shares.getOrDefault(Kind.passkey, 0.0), shares.getOrDefault(Kind.copy, 0.0),
                    shares.getOrDefault(Kind.repeat, 0.0));
        } catch (BadInputException e) {
            throw new BadInputException("--" + e.getMessage(), e);
        }
        if (documents < 1 || documents > 10_000_000) {
            throw new BadInputException("--documents: expected 1..10000000, found " + documents);
        }
        if (docTokens < 256 || docTokens > 1 << 20) {
            throw new BadInputException("--doc-tokens: expected 256..1048576, found " + docTokens);
        }
        int chars = docTokens - 2;
        int floor = RecallText.minPasskeyDistance();
        if (maxDistance < floor || maxDistance > chars) {
            throw new BadInputException("--max-distance: expected " + floor + ".." + chars + " for --doc-tokens " + docTokens
                    + ", found " + maxDistance);
        }
        int[] pairRange = pairRange(mqarPairs, chars);
        if (!Files.isRegularFile(corpus)) {
            throw new BadInputException("--corpus " + corpus + ": not a regular file");
        }
        if (Files.exists(out) && !Files.isRegularFile(out)) {
            throw new BadInputException("--out " + out + ": exists and is not a regular file (a folder or a device), expected a file");
        }
        if (Files.exists(out) && !force) {
            throw new BadInputException("--out " + out + ": exists (use --force to replace it)");
        }
        if (Files.exists(out) && Files.isSameFile(out, corpus)) {
            throw new BadInputException("--out " + out + ": must not be the --corpus file");
        }
        String text;
        try {
            text = Files.readString(corpus, StandardCharsets.UTF_8);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new BadInputException("--corpus " + corpus + ": not valid UTF-8 text");
        }
        RecallText generator = new RecallText(text);
        ObjectMapper json = new ObjectMapper();
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, Integer> counts = new java.util.TreeMap<>();
        AtomicFiles.write(out, stream -> {
            for (int i = 0; i < documents; i++) {
                RecallText.Document doc = generator.document(chars, maxDistance, weights, pairRange[0], pairRange[1], random);
                ObjectNode line = json.createObjectNode().put("text", doc.text());
                stream.write(json.writeValueAsBytes(line));
                stream.write('\n');
                counts.merge(doc.kind(), 1, Integer::sum);
            }
        });
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf(Locale.ROOT, "wrote %d documents of %d characters to %s: %s%n", documents, chars, out, counts);
        stdout.flush();
        return Main.EXIT_OK;
    }

    /** "MIN-MAX" (or one number) within 1..the most pairs a document holds. */
    static int[] pairRange(String text, int chars) {
        String[] parts = text.strip().split("-", -1);
        int max = RecallText.maxPairs(chars);
        try {
            int low = Integer.parseInt(parts[0].strip());
            int high = parts.length == 1 ? low : Integer.parseInt(parts[1].strip());
            if (parts.length <= 2 && low >= 1 && low <= high && high <= max) {
                return new int[] {low, high};
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BadInputException("--mqar-pairs: expected MIN-MAX with 1 <= MIN <= MAX <= " + max + ", found \"" + text + "\"");
    }
}
