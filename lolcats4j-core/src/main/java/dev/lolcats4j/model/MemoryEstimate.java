package dev.lolcats4j.model;

import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What a model needs in memory, estimated from its config before anything is allocated, so
 * that a config asking for more than the machine has (an intermediate_size of 10^9, a huge
 * vocabulary times many layers) is refused with the field to blame and the bytes it would need,
 * instead of a libtorch allocation failure or an OutOfMemoryError. Weights live in native
 * memory (libtorch), so the bound is the machine's physical RAM, not the JVM heap.
 *
 * <p>Sums are in double so that no product of config fields can overflow.
 */
public final class MemoryEstimate {

    private MemoryEstimate() {}

    /** One term of the estimate: the config fields it comes from and its bytes. */
    private record Term(String fields, double bytes) {}

    /** Physical RAM in bytes: MemTotal in /proc/meminfo, else the OS MXBean. */
    public static long physicalBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or a restricted /proc: ask the JVM
        }
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getTotalMemorySize();
        }
        return Long.MAX_VALUE;
    }

    /** Bytes of the weights held in {@code bytesPerWeight}-byte elements (norms and biases in f32). */
    public static double weightBytes(ModelConfig c, int bytesPerWeight) {
        return terms(c, bytesPerWeight).stream().mapToDouble(Term::bytes).sum();
    }

    private static List<Term> terms(ModelConfig c, int bytesPerWeight) {
        double hidden = c.hiddenSize();
        double layers = c.numLayers();
        double attention = hidden * c.headDim() * (2.0 * c.numHeads() + 2.0 * c.numKvHeads()) * layers * bytesPerWeight;
        double mlp = 3.0 * hidden * c.intermediateSize() * layers * bytesPerWeight;
        double embeddings = (double) c.vocabSize() * hidden * (c.tieWordEmbeddings() ? 1 : 2) * bytesPerWeight;
        double norms = (2.0 * layers + 1) * hidden * 4;
        return List.of(
                new Term("intermediate_size x hidden_size x 3 x num_hidden_layers", mlp),
                new Term("vocab_size x hidden_size", embeddings),
                new Term("hidden_size x head_dim x (num_attention_heads + num_key_value_heads) x 2 x num_hidden_layers", attention),
                new Term("hidden_size x num_hidden_layers (norms)", norms));
    }

    /**
     * Refuses a model whose weights, in {@code type}, need more than the machine's RAM.
     *
     * @param file the config.json (or the flags) the sizes came from, for the message
     */
    public static void checkModelFits(ModelConfig c, Object file, ComputeType type) {
        int bytes = type == ComputeType.BF16 ? 2 : 4;
        check(file, terms(c, bytes), 0, physicalBytes(), "the weights (" + type.name().toLowerCase(Locale.ROOT) + ")", "");
    }

    /**
     * Refuses training whose weights, optimizer state and activations need more than the
     * machine's RAM: a rough upper estimate (weights, their float32 masters, gradients and two
     * AdamW moments when {@code allWeightsTrain}, else weights only; per-token activations kept
     * for the backward pass; logits and their gradient in float32).
     *
     * @param seqLen tokens per sequence
     * @param microBatch sequences per forward pass
     */
    /**
     * Bytes of activations a full-graph backward keeps for {@code tokens} tokens (all layers):
     * the terms of {@link #checkTrainingFits} plus the hybrid attention's block scores (about
     * six float32 tensors of H x 2W per token and layer, at W = 64). Measured on the ~1B bench
     * shape at 2048 tokens: ~17 GB against 12.6 GB estimated, so this errs low.
     */
    public static double backwardActivationBytes(ModelConfig c, double tokens) {
        double perLayer = 20.0 * c.hiddenSize() + 3.0 * c.intermediateSize() + 6.0 * c.numHeads() * 128;
        return tokens * 4 * (c.numLayers() * perLayer + 3.0 * c.vocabSize());
    }

    public static void checkTrainingFits(ModelConfig c, Object file, ComputeType type, boolean allWeightsTrain,
            int seqLen, int microBatch, double attentionXent) {
        int bytes = type == ComputeType.BF16 ? 2 : 4;
        List<Term> weights = terms(c, bytes);
        double weightBytes = weights.stream().mapToDouble(Term::bytes).sum();
        double extra = allWeightsTrain ? weightBytes / bytes * 16 : 0;
        double tokens = (double) seqLen * microBatch;
        // ~20 float32 activations of width hidden per token per layer (norms, q/k/v, MLP in/out,
        // attention outputs), the MLP's 3 x intermediate, and logits + gradient + softmax over the vocabulary.
        double activations = tokens * 4 * (c.numLayers() * (20.0 * c.hiddenSize() + 3.0 * c.intermediateSize()) + 3.0 * c.vocabSize());
        if (attentionXent > 0) {
            activations += 3.0 * microBatch * c.numHeads() * (double) seqLen * seqLen * 4;
        }
        double fixed = weightBytes + extra;
        long ram = physicalBytes();
        if (fixed + activations > ram) {
            if (activations >= fixed) {
                throw new BadInputException(String.format(Locale.ROOT,
                        "--seq-len %d x --micro-batch %d: training would need about %,.0f bytes (activations %,.0f for "
                                + "hidden_size %d, intermediate_size %d, num_hidden_layers %d, vocab_size %d in %s), more than "
                                + "this machine's %,d bytes of RAM; lower --seq-len or --micro-batch",
                        seqLen, microBatch, fixed + activations, activations, c.hiddenSize(), c.intermediateSize(),
                        c.numLayers(), c.vocabSize(), file, ram));
            }
            check(file, weights, activations + extra, ram, "training (weights" + (allWeightsTrain ? ", gradients, AdamW state" : "")
                    + " and activations)", "");
        }
    }

    /**
     * Refuses generation whose softmax key-value cache (every layer keeps keys and values of
     * every position, in float32) plus the weights would not fit in RAM.
     *
     * @param tokens prompt plus new tokens
     * @param flag the option that sets the length, for the message
     */
    public static void checkContextFits(ModelConfig c, Object file, ComputeType type, long tokens, String flag) {
        checkModelFits(c, file, type); // the weights alone first, so that the message blames the right field
        int bytes = type == ComputeType.BF16 ? 2 : 4;
        double weights = weightBytes(c, bytes);
        double cache = 2.0 * c.numLayers() * c.numKvHeads() * c.headDim() * 4 * tokens;
        long ram = physicalBytes();
        if (weights + cache > ram) {
            throw new BadInputException(String.format(Locale.ROOT,
                    "%s: %,d tokens would need about %,.0f bytes of key-value cache (num_hidden_layers %d x "
                            + "num_key_value_heads %d x head_dim %d in %s) besides %,.0f bytes of weights, more than this "
                            + "machine's %,d bytes of RAM",
                    flag, tokens, cache, c.numLayers(), c.numKvHeads(), c.headDim(), file, weights, ram));
        }
    }

    private static void check(Object file, List<Term> terms, double extra, long ram, String what, String hint) {
        double total = terms.stream().mapToDouble(Term::bytes).sum() + extra;
        if (total <= ram) {
            return;
        }
        Term largest = terms.stream().max((a, b) -> Double.compare(a.bytes(), b.bytes())).orElseThrow();
        String field = largest.fields().split(" ")[0];
        throw new BadInputException(String.format(Locale.ROOT,
                "%s: %s: %s would need about %,.0f bytes (%s alone: %,.0f), more than this machine's %,d bytes of RAM%s",
                file, field, what, total, largest.fields(), largest.bytes(), ram, hint));
    }
}
