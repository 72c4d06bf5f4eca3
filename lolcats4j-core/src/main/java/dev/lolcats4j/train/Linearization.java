package dev.lolcats4j.train;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelConfigReader;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.BlockwiseTransfer;
import dev.lolcats4j.train.blockwise.HiddenStateCache;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.lolcats4j.io.Checksums;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.global.torch;

/**
 * The linearization pipeline, the one place that runs it (the CLI's linearize and demo, the
 * Java API and tests all come here): stage 1 (joint, or block-wise through a runner), the best
 * held-out checkpoint, stage 2 (LoRA) from it, and the adapter folder in {@code out}.
 *
 * <p>Layout of {@code out}: adapter.safetensors + lolcats_config.json (the result);
 * {@code stage1/} (joint: TrainLoop's folder; block-wise: {@code blocks/block-NNN/},
 * blocks.csv, blocks.png and the stitched {@code best/}); {@code stage2/}; {@code cache/}
 * (block-wise, unless --cache points elsewhere).
 */
public final class Linearization {

    /** Where the pipeline reports to. */
    public interface Listener {

        void message(String line);

        /** A step listener for a stage ("stage 1", "stage 2"). */
        default TrainListener stage(String label) {
            return TrainListener.SILENT;
        }

        /** Progress of block-wise stage 1. */
        default BlockProgress blocks() {
            return BlockProgress.SILENT;
        }

        /** Progress of the hidden-state cache build: messages, and a progress line at most every 2 s. */
        default HiddenStateCache.Listener cache() {
            return new HiddenStateCache.Listener() {
                private long last;

                @Override
                public void onMessage(String line) {
                    message("[cache] " + line);
                }

                @Override
                public void onGroup(int done, int total, double tokensPerSecond) {
                    long now = System.nanoTime();
                    if (done == total || now - last > 2_000_000_000L) {
                        last = now;
                        message(String.format(Locale.ROOT, "[cache] shard groups %d/%d, teacher %,.0f tok/s", done, total,
                                tokensPerSecond));
                    }
                }
            };
        }

        Listener SILENT = line -> { };
    }

    /** What a run produced: one summary line per stage, the stage results, and per-block results (block-wise). */
    public record Result(List<String> summary, TrainResult transfer, TrainResult lora, List<BlockResult> blocks) {}

    private Linearization() {}

    /**
     * Runs the pipeline. Options are validated (against the model's config.json too) before
     * anything is loaded or written.
     */
    public static Result run(LinearizeOptions o, PackedDataset data, Listener listener) {
        return run(o, data, listener, Map.of());
    }

    /**
     * {@link #run(LinearizeOptions, PackedDataset, Listener)}, recording {@code identity} (what
     * else the run depends on, e.g. the command line) in the stages' checkpoints, so that a
     * resume with other settings is refused.
     */
    public static Result run(LinearizeOptions o, PackedDataset data, Listener listener, Map<String, String> identity) {
        ModelConfig modelConfig = ModelConfigReader.read(o.modelDir());
        o.validate(modelConfig);
        if (data.train().isEmpty()) {
            throw new dev.lolcats4j.BadInputException("training data: not enough tokens for one packed sequence");
        }
        AdapterConfig conversion = o.runsTransfer() ? o.conversion().withLora(null) : AdapterConfigJson.read(o.adapterDir());
        AtomicFiles.createDirectories(o.out());
        List<String> summary = new ArrayList<>();
        TrainResult transfer = null;
        TrainResult lora = null;
        List<BlockResult> blocks = List.of();
        DecoderModel model = null;
        if (o.runsTransfer()) {
            int steps = o.transferSteps() != null ? o.transferSteps() : defaultSteps(data, o.batch(), 2);
            TrainConfig config = trainConfig(o, steps, o.transferLr());
            if (o.blockwise() == null) {
                model = ModelLoader.load(o.modelDir(), o.computeType());
                torch.manual_seed(o.seed());
                Adapters.convert(model, conversion);
                listener.message(String.format(Locale.ROOT, "[stage 1] %d steps of %d sequences x %d tokens, lr %.1e",
                        steps, o.batch(), data.train().get(0).tokens().length - 1, o.transferLr()));
                transfer = new TrainLoop(new AttentionTransfer(model, conversion, o.attentionXent()), data, config,
                        o.out().resolve("stage1"), listener.stage("stage 1"), identity).run(o.resume());
                summary.add(String.format(Locale.ROOT,
                        "stage 1 (attention transfer): %d steps, %,d tokens, best held-out loss %.5f at step %d, %s",
                        transfer.steps(), transfer.trainTokens(), transfer.bestEvalLoss(), transfer.bestStep(),
                        duration(transfer.seconds())));
                Adapters.load(model, o.out().resolve("stage1/best"));
            } else {
                BlockwiseTransfer.Outcome outcome = BlockwiseTransfer.run(o, conversion, config, data, modelConfig, listener);
                blocks = outcome.blocks();
                summary.add(outcome.summary());
            }
            copyAdapter(o.out().resolve("stage1/best"), o.out());
        }
        if (o.runsLora()) {
            if (model == null) {
                model = ModelLoader.load(o.modelDir(), o.computeType());
                Adapters.load(model, o.runsTransfer() ? o.out().resolve("stage1/best") : o.adapterDir());
            }
            AdapterConfig withLora = conversion.withLora(o.lora());
            torch.manual_seed(o.seed() + 1);
            Adapters.addLora(model, withLora);
            int steps = o.loraSteps() != null ? o.loraSteps() : defaultSteps(data, o.batch(), 1);
            listener.message(String.format(Locale.ROOT, "[stage 2] %d steps of %d sequences x %d tokens, lr %.1e",
                    steps, o.batch(), data.train().get(0).tokens().length - 1, o.loraLr()));
            Map<String, String> stage2Identity = new LinkedHashMap<>(identity);
            if (o.runsTransfer()) {
                // Stage 2 starts from stage 1's result: a resumed stage 2 must start from the same one.
                stage2Identity.put("stage-1 adapter", Checksums.path(o.out().resolve("stage1/best")));
            }
            long tokensPerMicroBatch = (long) o.microBatch() * data.train().get(0).tokens().length;
            boolean checkpointing = LoraFinetune.wantsCheckpointing(model.config(), tokensPerMicroBatch);
            if (checkpointing) {
                listener.message(String.format(Locale.ROOT, "[stage 2] activation checkpointing: a full backward over %,d tokens "
                        + "would keep ~%.1f GB of activations (> %.0f%% of this machine's memory); each layer is recomputed "
                        + "in the backward instead", tokensPerMicroBatch,
                        dev.lolcats4j.model.MemoryEstimate.backwardActivationBytes(model.config(), tokensPerMicroBatch) / 1e9,
                        100 * LoraFinetune.CHECKPOINT_ABOVE_SHARE_OF_RAM));
            }
            lora = new TrainLoop(new LoraFinetune(model, withLora, o.trainFeatureMaps(), checkpointing), data, trainConfig(o, steps, o.loraLr()),
                    o.out().resolve("stage2"), listener.stage("stage 2"), stage2Identity).run(o.resume());
            summary.add(String.format(Locale.ROOT,
                    "stage 2 (LoRA): %d steps, %,d tokens, best held-out loss %.5f (perplexity %.3f) at step %d, %s",
                    lora.steps(), lora.trainTokens(), lora.bestEvalLoss(), Math.exp(lora.bestEvalLoss()), lora.bestStep(),
                    duration(lora.seconds())));
            copyAdapter(o.out().resolve("stage2/best"), o.out());
        }
        return new Result(List.copyOf(summary), transfer, lora, blocks);
    }

    /** The TrainConfig both stages use: reduce-on-plateau, the run's batch and evaluation settings. */
    public static TrainConfig trainConfig(LinearizeOptions o, int steps, double lr) {
        return new TrainConfig(steps, lr, o.weightDecay(), o.batch(), o.microBatch(), "plateau", 0, 1e-5, 0.1, o.patience(), 0,
                o.evalEvery(), o.evalBatches(), o.checkpointEvery(), o.seed());
    }

    static int defaultSteps(PackedDataset dataset, int batch, int epochs) {
        return Math.max(1, (int) Math.ceil((double) dataset.train().size() * epochs / batch));
    }

    private static void copyAdapter(Path from, Path to) {
        for (String name : new String[] {Adapters.WEIGHTS_FILE, AdapterConfigJson.FILE_NAME}) {
            Path source = from.resolve(name);
            AtomicFiles.write(to.resolve(name), stream -> Files.copy(source, stream));
        }
    }

    /** "1m05s" / "2h03m". */
    public static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
