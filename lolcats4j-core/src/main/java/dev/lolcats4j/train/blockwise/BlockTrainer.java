package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.data.PackedDataset.Sequence;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.LayerBlock;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.torch.Tensors;
import dev.lolcats4j.train.AttentionTransfer;
import dev.lolcats4j.train.Batch;
import dev.lolcats4j.train.TrainConfig;
import dev.lolcats4j.train.TrainListener;
import dev.lolcats4j.train.TrainLoop;
import dev.lolcats4j.train.TrainResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Trains one block from its cached inputs (the work behind {@link BlockJob#run}): loads only
 * the block's layers, converts them as joint stage 1 would, runs {@link TrainLoop} with the
 * stage-1 loss restricted to the block (resuming from {@code blockDir/train/checkpoint}), then
 * publishes the best held-out result as {@code blockDir/adapter/}.
 */
final class BlockTrainer {

    private static final String INITIAL_FILE = "initial_mse.txt";

    private BlockTrainer() {}

    static BlockResult train(BlockJobSpec spec, TrainListener listener) {
        long started = System.nanoTime();
        Path modelDir = Path.of(spec.modelDir());
        Path blockDir = spec.blockDir();
        ComputeType type = ComputeType.valueOf(spec.computeType());
        AdapterConfig config = AdapterConfigJson.fromJson(spec.adapterConfigJson(), blockDir.resolve("spec"));
        HiddenStateCache cache = HiddenStateCache.open(Path.of(spec.cacheDir()));
        cache.checkModel(modelDir, type);
        AtomicFiles.createDirectories(blockDir);
        try (BoundaryInputs inputs = cache.inputs(spec.firstLayer())) {
            LayerBlock block = ModelLoader.loadLayers(modelDir, type, spec.firstLayer(), spec.endLayer());
            torch.manual_seed(spec.training().seed());
            for (int i = 0; i < block.layers().size(); i++) {
                Adapters.convertLayer(block.layers().get(i), spec.firstLayer() + i, block.config(), config);
            }
            AttentionTransfer objective = new AttentionTransfer(block, config, spec.training().attentionXent(), inputs::inputs,
                    dir -> save(block, config, dir));
            PackedDataset data = inputs.dataset();
            TrainConfig trainConfig = spec.training().toTrainConfig();
            if (objective.parameters().isEmpty()) {
                // Every layer of the block stays softmax: nothing to train, an empty block adapter.
                publish(blockDir, block, config, null);
                return new BlockResult(spec.blockIndex(), spec.firstLayer(), spec.endLayer(), 0, 0, 0, 0, seconds(started), false);
            }
            double initial = initialMse(blockDir, objective, data, trainConfig.evalBatches());
            TrainResult r = new TrainLoop(objective, data, trainConfig, blockDir.resolve("train"), listener).run(true);
            loadBest(block, blockDir.resolve("train/best"));
            double last = meanMse(objective, data, trainConfig.evalBatches());
            publish(blockDir, block, config, blockDir.resolve("train/best"));
            return new BlockResult(spec.blockIndex(), spec.firstLayer(), spec.endLayer(), initial, last, r.steps(),
                    r.trainTokens(), seconds(started), false);
        }
    }

    /** The block's trainable tensors under their reference (model-wide) names, plus lolcats_config.json. */
    static void save(LayerBlock block, AdapterConfig config, Path dir) {
        AtomicFiles.createDirectories(dir);
        Map<String, TensorData> data = new LinkedHashMap<>();
        for (int i = 0; i < block.layers().size(); i++) {
            Adapters.layerTensors(block.layers().get(i), block.firstLayer() + i)
                    .forEach((name, t) -> data.put(name, Tensors.toData(t.to(Tensors.F32))));
        }
        SafetensorsWriter.write(dir.resolve(Adapters.WEIGHTS_FILE), data, Map.of("format", "pt", "producer", "lolcats4j"));
        AtomicFiles.writeString(dir.resolve(AdapterConfigJson.FILE_NAME), AdapterConfigJson.toJson(config));
    }

    /** Copies the best checkpoint's values into the block's live parameters. */
    private static void loadBest(LayerBlock block, Path best) {
        try (SafetensorsFile file = SafetensorsFile.open(best.resolve(Adapters.WEIGHTS_FILE));
                NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            for (int i = 0; i < block.layers().size(); i++) {
                for (Map.Entry<String, Tensor> e : Adapters.layerTensors(block.layers().get(i), block.firstLayer() + i).entrySet()) {
                    e.getValue().copy_(Tensors.fromData(file.get(e.getKey())));
                }
            }
        }
    }

    /** The initial MSE is measured once, before the first step, and kept for resumed attempts. */
    private static double initialMse(Path blockDir, AttentionTransfer objective, PackedDataset data, int batches) {
        Path file = blockDir.resolve(INITIAL_FILE);
        try {
            if (Files.isRegularFile(file)) {
                return Double.parseDouble(Files.readString(file).trim());
            }
        } catch (IOException | NumberFormatException e) {
            // fall through: measure again
        }
        double mse = meanMse(objective, data, batches);
        AtomicFiles.writeString(file, Double.toString(mse));
        return mse;
    }

    /** Mean over the held-out sequences used for evaluation and over the block's converted layers of the attention-output MSE. */
    static double meanMse(AttentionTransfer objective, PackedDataset data, int batches) {
        List<Sequence> heldOut = data.heldOut().isEmpty() ? data.train() : data.heldOut();
        int count = Math.max(1, Math.min(batches, heldOut.size()));
        double total = 0;
        for (int i = 0; i < count; i++) {
            try (PointerScope scope = new PointerScope()) {
                double[] perLayer = objective.layerMse(Batch.of(List.of(heldOut.get(i))));
                total += java.util.Arrays.stream(perLayer).average().orElse(0);
            }
        }
        return total / count;
    }

    /** Writes {@code blockDir/adapter/} whole: built in a temporary folder, then renamed into place. */
    private static void publish(Path blockDir, LayerBlock block, AdapterConfig config, Path from) {
        Path target = blockDir.resolve(BlockJob.ADAPTER_DIR);
        Path tmp = blockDir.resolve("." + BlockJob.ADAPTER_DIR + ".tmp");
        try {
            deleteTree(tmp);
            if (from == null) {
                save(block, config, tmp);
            } else {
                Files.createDirectories(tmp);
                for (String name : new String[] {Adapters.WEIGHTS_FILE, AdapterConfigJson.FILE_NAME}) {
                    Files.copy(from.resolve(name), tmp.resolve(name));
                }
            }
            deleteTree(target);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target + ": " + e.getMessage(), e);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
