package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.train.LinearizeOptions;
import dev.lolcats4j.train.Linearization;
import dev.lolcats4j.train.Metrics;
import dev.lolcats4j.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Block-wise stage 1 as {@link Linearization} runs it: plan the blocks, prepare the
 * hidden-state cache, run the block jobs through the chosen runner, write the per-block table
 * and plot, and stitch the block adapters into {@code out/stage1/best}.
 */
public final class BlockwiseTransfer {

    /** Per-block table written to {@code out/stage1}. */
    public static final String TABLE_FILE = "blocks.csv";
    public static final String PLOT_FILE = "blocks.png";

    public record Outcome(List<BlockResult> blocks, String summary) {}

    private BlockwiseTransfer() {}

    /** Block boundaries for {@code layers} layers in blocks of {@code k}: 0, k, 2k, ... (the last block may be shorter). */
    public static List<Integer> boundaries(int layers, int k) {
        List<Integer> out = new ArrayList<>();
        for (int b = 0; b < layers; b += k) {
            out.add(b);
        }
        return out;
    }

    /** One spec per block, all paths absolute. */
    public static List<BlockJobSpec> plan(Path modelDir, Path cacheDir, Path runDir, int layers, int k, String computeType,
            AdapterConfig conversion, BlockTraining training) {
        List<Integer> starts = boundaries(layers, k);
        List<BlockJobSpec> jobs = new ArrayList<>();
        String json = AdapterConfigJson.toJson(conversion.withLora(null));
        for (int i = 0; i < starts.size(); i++) {
            int first = starts.get(i);
            jobs.add(new BlockJobSpec(abs(modelDir), abs(cacheDir), abs(runDir), i, starts.size(), first,
                    Math.min(layers, first + k), computeType, json, training));
        }
        return jobs;
    }

    public static Outcome run(LinearizeOptions o, AdapterConfig conversion, TrainConfig config, PackedDataset data,
            ModelConfig modelConfig, Linearization.Listener listener) {
        LinearizeOptions.Blockwise bw = o.blockwise();
        // The runner is found (and its settings checked) before the expensive cache pass.
        BlockRunnerProvider provider = BlockRunners.find(bw.runner());
        int layers = modelConfig.numLayers();
        Path runDir = o.out().resolve("stage1");
        List<BlockJobSpec> jobs = plan(o.modelDir(), o.cacheDir(), runDir, layers, bw.layersPerBlock(), o.computeType().name(),
                conversion, BlockTraining.of(config, o.attentionXent()));
        try (BlockRunner runner = provider.create(new RunnerSettings(bw.master(), bw.parallelism()))) {
            long started = System.nanoTime();
            boolean allDone = jobs.stream().allMatch(BlockJob::isDone);
            HiddenStateCache cache = null;
            if (!allDone) {
                listener.message(String.format(Locale.ROOT, "[stage 1] block-wise: %d blocks of %d layers, runner %s, cache %s",
                        jobs.size(), bw.layersPerBlock(), provider.name(), o.cacheDir()));
                cache = HiddenStateCache.prepare(o.cacheDir(), o.modelDir(), o.computeType(), data,
                        boundaries(layers, bw.layersPerBlock()), bw.shardBytes(), listener.cache());
                listener.message(String.format(Locale.ROOT, "[stage 1] cache ready: %,d bytes in %d shards (%,d tokens x %d boundaries)",
                        cache.shardBytes(), cache.shards().size(), cache.tokensPerBoundary(), cache.boundaries().size()));
            }
            RunProgress progress = new RunProgress(jobs, config, data, listener.blocks());
            List<BlockResult> results = runner.run(jobs, progress);
            writeTable(runDir, results);
            BlockStitcher.stitch(jobs, conversion, runDir.resolve("best"));
            double seconds = (System.nanoTime() - started) / 1e9;
            long reused = results.stream().filter(BlockResult::reused).count();
            double worst = results.stream().mapToDouble(BlockResult::finalMse).max().orElse(Double.NaN);
            String summary = String.format(Locale.ROOT,
                    "stage 1 (block-wise attention transfer, %d blocks of %d layers, runner %s): %d trained, %d reused, "
                            + "worst block MSE %.3g, %s; per-block table in %s",
                    jobs.size(), bw.layersPerBlock(), provider.name(), results.size() - reused, reused, worst,
                    Linearization.duration(seconds), runDir.resolve(TABLE_FILE));
            return new Outcome(results, summary);
        }
    }

    /** blocks.csv (block, layers, initial and final MSE, steps, tokens, seconds, reused) and blocks.png. */
    static void writeTable(Path runDir, List<BlockResult> results) {
        StringBuilder csv = new StringBuilder("block,first_layer,last_layer,initial_mse,final_mse,steps,train_tokens,seconds,reused\n");
        List<double[]> finalMse = new ArrayList<>();
        List<double[]> initialMse = new ArrayList<>();
        for (BlockResult r : results) {
            csv.append(String.format(Locale.ROOT, "%d,%d,%d,%.6g,%.6g,%d,%d,%.1f,%s%n", r.blockIndex(), r.firstLayer(),
                    r.endLayer() - 1, r.initialMse(), r.finalMse(), r.steps(), r.trainTokens(), r.seconds(), r.reused()));
            finalMse.add(new double[] {r.blockIndex(), r.finalMse()});
            initialMse.add(new double[] {r.blockIndex(), r.initialMse()});
        }
        AtomicFiles.writeString(runDir.resolve(TABLE_FILE), csv.toString());
        Metrics.plotLog(runDir.resolve(PLOT_FILE), "block",
                "attention-output MSE per block (log scale): after training = blue line, before = red dots", finalMse, initialMse);
    }

    private static String abs(Path p) {
        return p.toAbsolutePath().normalize().toString();
    }
}
