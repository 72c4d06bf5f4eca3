package dev.lolcats4j.bench;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.data.PackedDataset.Sequence;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.model.ModelWriter;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import dev.lolcats4j.train.LinearizeOptions;
import dev.lolcats4j.train.Linearization;
import dev.lolcats4j.train.blockwise.BlockJob;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.BlockTraining;
import dev.lolcats4j.train.blockwise.BlockwiseTransfer;
import dev.lolcats4j.train.blockwise.HiddenStateCache;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Figures for block-wise transfer on a synthetic model of Llama-3.2-1B's shape, one step per
 * JVM so that each peak resident size (VmHWM) belongs to that step alone. Modes:
 * <pre>
 *   model DIR                          write the synthetic model (bf16)
 *   joint MODEL OUT                    joint stage 1 (every layer in one process)
 *   cache MODEL CACHE K                build the hidden-state cache for blocks of K layers
 *   block MODEL CACHE RUN K INDEX      one block job
 * </pre>
 * Same data, steps and batch everywhere: {@link #SEQUENCES} random sequences of {@link #LENGTH} tokens.
 */
public final class BlockwiseBench {

    static final int SEQUENCES = 16;
    static final int HELD_OUT = 2;
    static final int LENGTH = 128;
    static final int STEPS = 2;
    static final AdapterConfig CONVERSION = AdapterConfig.defaults();

    private BlockwiseBench() {}

    /** Llama-3.2-1B's shape (hidden 2048, 16 layers, 32 heads, 8 KV heads, intermediate 8192), a 32k vocabulary. */
    static ModelConfig config() {
        return ModelConfig.llama(32000, 2048, 8192, 16, 32, 8);
    }

    public static void main(String[] args) {
        Natives.init();
        long start = System.nanoTime();
        String mode = args[0];
        switch (mode) {
            case "model" -> ModelWriter.save(ModelFactory.random(config(), ComputeType.BF16, 1234), Path.of(args[1]), Tensors.BF16);
            case "joint" -> {
                Linearization.Result r = Linearization.run(options(Path.of(args[1]), Path.of(args[2]), null), data(),
                        Linearization.Listener.SILENT);
                System.out.println("joint stage 1: " + r.summary());
            }
            case "cache" -> {
                int k = Integer.parseInt(args[3]);
                HiddenStateCache c = HiddenStateCache.prepare(Path.of(args[2]), Path.of(args[1]), ComputeType.BF16, data(),
                        BlockwiseTransfer.boundaries(config().numLayers(), k), HiddenStateCache.DEFAULT_SHARD_BYTES,
                        HiddenStateCache.Listener.SILENT);
                long tokens = c.tokensPerBoundary();
                long expected = 2L * tokens * config().hiddenSize() * (config().numLayers() / k);
                System.out.printf(Locale.ROOT, "cache k=%d: %,d bytes in %d shards; expected 2 x %,d tokens x %d hidden x %d = %,d (%.4f)%n",
                        k, c.shardBytes(), c.shards().size(), tokens, config().hiddenSize(), config().numLayers() / k, expected,
                        (double) c.shardBytes() / expected);
            }
            case "block" -> {
                int k = Integer.parseInt(args[4]);
                int index = Integer.parseInt(args[5]);
                List<BlockJobSpec> jobs = BlockwiseTransfer.plan(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]),
                        config().numLayers(), k, ComputeType.BF16.name(), CONVERSION,
                        BlockTraining.of(Linearization.trainConfig(options(Path.of(args[1]), Path.of(args[3]), k), STEPS, 1e-2), 0));
                BlockResult r = BlockJob.run(jobs.get(index));
                System.out.println("block job: " + r);
            }
            default -> throw new IllegalArgumentException("mode: model | joint | cache | block");
        }
        System.out.printf(Locale.ROOT, "%s: peak RSS (VmHWM) %.0f MiB, %.1f s%n", mode, Memory.mib(Memory.peakResidentBytes()),
                (System.nanoTime() - start) / 1e9);
    }

    static LinearizeOptions options(Path model, Path out, Integer k) {
        return new LinearizeOptions(model, ComputeType.BF16, null, out, "transfer", false, CONVERSION, LoraConfig.defaults(), STEPS,
                1e-2, 0, null, 1e-4, false, 1, 1, 0, 0, 1, 10, 0, 42,
                k == null ? null : new LinearizeOptions.Blockwise(k, "local", null, null, 1, HiddenStateCache.DEFAULT_SHARD_BYTES));
    }

    /** Random token sequences (a fixed seed), every target counting. */
    static PackedDataset data() {
        SplittableRandom random = new SplittableRandom(99);
        List<Sequence> all = new ArrayList<>();
        for (int s = 0; s < SEQUENCES + HELD_OUT; s++) {
            int[] tokens = new int[LENGTH + 1];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = random.nextInt(config().vocabSize());
            }
            boolean[] counts = new boolean[LENGTH];
            Arrays.fill(counts, true);
            all.add(new Sequence(tokens, counts));
        }
        return PackedDataset.of(all.subList(0, SEQUENCES), all.subList(SEQUENCES, all.size()), 7);
    }
}
