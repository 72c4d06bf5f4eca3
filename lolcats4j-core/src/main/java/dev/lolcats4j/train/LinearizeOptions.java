package dev.lolcats4j.train;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Everything {@link Linearization} needs, checked by {@link #validate} before any work starts.
 *
 * @param adapterDir stage-1 adapter to continue from when {@code stage} is "lora" (else null)
 * @param stage "transfer", "lora" or "all"
 * @param conversion how layers are converted (its LoRA part is ignored; see {@code lora})
 * @param transferSteps stage-1 steps, null = 2 epochs of the data
 * @param loraSteps stage-2 steps, null = 1 epoch of the data
 * @param blockwise null = joint stage 1 (every layer at once, in this process)
 */
public record LinearizeOptions(
        Path modelDir,
        ComputeType computeType,
        Path adapterDir,
        Path out,
        String stage,
        boolean resume,
        AdapterConfig conversion,
        LoraConfig lora,
        Integer transferSteps,
        double transferLr,
        double attentionXent,
        Integer loraSteps,
        double loraLr,
        boolean trainFeatureMaps,
        int batch,
        int microBatch,
        double weightDecay,
        int evalEvery,
        int evalBatches,
        int patience,
        int checkpointEvery,
        long seed,
        Blockwise blockwise) {

    /**
     * Block-wise stage 1 (method section 7).
     *
     * @param layersPerBlock k: layers trained together in one job
     * @param runner "local" or "spark" (any {@link dev.lolcats4j.train.blockwise.BlockRunnerProvider} name)
     * @param master Spark master URL, null = the runner's default
     * @param cacheDir hidden-state cache folder, null = {@code out/cache}
     * @param parallelism blocks at once for the local runner
     * @param shardBytes target size of one cache shard
     */
    public record Blockwise(int layersPerBlock, String runner, String master, Path cacheDir, int parallelism, long shardBytes) {}

    public boolean runsTransfer() {
        return stage.equals("all") || stage.equals("transfer");
    }

    public boolean runsLora() {
        return stage.equals("all") || stage.equals("lora");
    }

    /** Where the hidden-state cache lives. */
    public Path cacheDir() {
        return blockwise.cacheDir() != null ? blockwise.cacheDir() : out.resolve("cache");
    }

    /** Checks every option against each other and against the model's config.json; throws {@link BadInputException}. */
    public void validate(ModelConfig model) {
        if (!stage.equals("all") && !stage.equals("transfer") && !stage.equals("lora")) {
            throw new BadInputException("--stage: expected transfer, lora or all, found \"" + stage + "\"");
        }
        if (!runsTransfer() && adapterDir == null) {
            throw new BadInputException("--stage lora: needs --adapter DIR with a stage-1 adapter");
        }
        positive("--batch", batch);
        positive("--micro-batch", microBatch);
        if (microBatch > batch) {
            throw new BadInputException("--micro-batch: expected at most --batch (" + batch + "), found " + microBatch);
        }
        positive("--eval-batches", evalBatches);
        nonNegative("--eval-every", evalEvery);
        nonNegative("--patience", patience);
        nonNegative("--checkpoint-every", checkpointEvery);
        if (transferSteps != null) {
            positive("--transfer-steps", transferSteps);
        }
        if (loraSteps != null) {
            positive("--lora-steps", loraSteps);
        }
        finitePositive("--transfer-lr", transferLr);
        finitePositive("--lora-lr", loraLr);
        finiteNonNegative("--weight-decay", weightDecay);
        finiteNonNegative("--attention-xent", attentionXent);
        if (conversion.featureDim() < 1 || conversion.windowSize() < 1) {
            throw new BadInputException("--feature-dim and --window: expected positive integers");
        }
        for (int layer : conversion.softmaxLayers()) {
            if (layer < 0 || layer >= model.numLayers()) {
                throw new BadInputException("--softmax-layers: layer " + layer + " does not exist (model has "
                        + model.numLayers() + " layers, 0.." + (model.numLayers() - 1) + ")");
            }
        }
        if (runsLora()) {
            if (lora.rank() < 1) {
                throw new BadInputException("--lora-rank: expected a positive integer, found " + lora.rank());
            }
            finitePositive("--lora-alpha", lora.alpha());
            if (!(lora.dropout() >= 0 && lora.dropout() < 1)) {
                throw new BadInputException("--lora-dropout: expected a probability in [0, 1), found " + lora.dropout());
            }
            for (String target : lora.targets()) {
                if (!LoraConfig.ALL_TARGETS.contains(target)) {
                    throw new BadInputException("--lora-targets: expected names from " + LoraConfig.ALL_TARGETS + ", found \"" + target + "\"");
                }
            }
        }
        if (out.toAbsolutePath().normalize().equals(modelDir.toAbsolutePath().normalize())) {
            throw new BadInputException("--out " + out + ": is the --model folder; give a new folder");
        }
        if (blockwise != null) {
            if (!runsTransfer()) {
                throw new BadInputException("--blockwise: only applies to stage 1; drop it with --stage lora");
            }
            int k = blockwise.layersPerBlock();
            if (k < 1 || k > model.numLayers()) {
                throw new BadInputException("--blockwise: expected layers per block in 1.." + model.numLayers() + ", found " + k);
            }
            positive("--parallel-blocks", blockwise.parallelism());
            if (blockwise.shardBytes() < 1) {
                throw new BadInputException("--cache-shard-bytes: expected a positive size, found " + blockwise.shardBytes());
            }
            dev.lolcats4j.train.blockwise.BlockRunners.find(blockwise.runner())
                    .validate(new dev.lolcats4j.train.blockwise.RunnerSettings(blockwise.master(), blockwise.parallelism()));
            Path cache = cacheDir().toAbsolutePath().normalize();
            if (cache.startsWith(modelDir.toAbsolutePath().normalize())) {
                throw new BadInputException("--cache " + cacheDir() + ": inside the --model folder; give another folder");
            }
            if (Files.exists(cache) && !Files.isDirectory(cache)) {
                throw new BadInputException("--cache " + cacheDir() + ": expected a folder, found a file");
            }
        }
    }

    private static void positive(String flag, long value) {
        if (value < 1) {
            throw new BadInputException(flag + ": expected a positive integer, found " + value);
        }
    }

    private static void nonNegative(String flag, long value) {
        if (value < 0) {
            throw new BadInputException(flag + ": expected 0 or more, found " + value);
        }
    }

    private static void finitePositive(String flag, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new BadInputException(flag + ": expected a finite positive number, found " + value);
        }
    }

    private static void finiteNonNegative(String flag, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new BadInputException(flag + ": expected a finite number >= 0, found " + value);
        }
    }
}
