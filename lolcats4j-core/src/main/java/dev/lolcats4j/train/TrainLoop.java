package dev.lolcats4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.data.PackedDataset.Sequence;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.torch.Tensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * The one training loop behind stage 1, stage 2 and pretraining: micro-batches with gradient
 * accumulation, AdamW, a learning-rate schedule, periodic held-out evaluation (the best result
 * is kept in {@code out/best}), a metrics CSV and PNG plot, and atomic checkpoints that
 * {@code resume} continues from exactly (parameters, optimiser moments, data position, schedule).
 *
 * <p>Layout of {@code out}: {@code best/} (the result at the best held-out loss), {@code final/}
 * (at the last step), {@code checkpoint/} (state.json + state-STEP.safetensors), metrics.csv, loss.png.
 */
public final class TrainLoop {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Objective objective;
    private final PackedDataset data;
    private final TrainConfig config;
    private final Path out;
    private final TrainListener listener;
    private final AdamW optimizer;
    private final Metrics metrics;

    // Progress state (all of it goes into checkpoints).
    private int step;
    private long position;          // sequences consumed since the start of training
    private double learningRate;
    private double bestEval = Double.POSITIVE_INFINITY;
    private int bestStep = -1;
    private double plateauBest = Double.POSITIVE_INFINITY;
    private int plateauBadEvals;

    // The current epoch's training order (derived from the seed and the epoch, so not checkpointed).
    private int[] order;
    private int orderEpoch = -1;

    public TrainLoop(Objective objective, PackedDataset data, TrainConfig config, Path out, TrainListener listener) {
        if (data.train().isEmpty()) {
            throw new BadInputException("training data: not enough tokens for one packed sequence");
        }
        this.objective = objective;
        this.data = data;
        this.config = config;
        this.out = out;
        this.listener = listener;
        this.optimizer = new AdamW(objective.parameters(), objective::decays, 0.9, 0.999, 1e-8, config.weightDecay());
        this.learningRate = config.learningRate();
        this.metrics = new Metrics(out.resolve("metrics.csv"));
    }

    /** Runs to {@code maxSteps}; with {@code resume}, first restores the last checkpoint in {@code out}. */
    public TrainResult run(boolean resume) {
        AtomicFiles.createDirectories(out);
        if (resume && Files.isRegularFile(out.resolve("checkpoint/state.json"))) {
            restore();
            listener.onMessage("resumed from step " + step);
        } else {
            metrics.start();
        }
        long started = System.nanoTime();
        long tokensSinceStart = 0;
        double lastLoss = Double.NaN;
        while (step < config.maxSteps()) {
            long stepStart = System.nanoTime();
            double loss = 0;
            long tokens = 0;
            try (PointerScope scope = new PointerScope()) {
                optimizer.zeroGrad();
                int accumulation = config.accumulation();
                for (int micro = 0; micro < accumulation; micro++) {
                    Batch batch = Batch.of(nextSequences(Math.max(1, config.microBatch())));
                    loss += objective.trainStep(batch, 1.0 / accumulation) / accumulation;
                    tokens += batch.tokens();
                }
                if (config.clipNorm() > 0) {
                    optimizer.clipGradients(config.clipNorm());
                }
                optimizer.step(currentLearningRate());
            }
            step++;
            lastLoss = loss;
            tokensSinceStart += tokens;
            double evalLoss = Double.NaN;
            boolean last = step == config.maxSteps();
            if ((config.evalEvery() > 0 && step % config.evalEvery() == 0) || last) {
                evalLoss = evaluate();
                afterEvaluation(evalLoss);
            }
            double seconds = (System.nanoTime() - stepStart) / 1e9;
            metrics.append(step, loss, evalLoss, learningRate, tokens / seconds);
            listener.onStep(step, config.maxSteps(), loss, evalLoss, learningRate, tokens / seconds);
            if ((config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0) || last) {
                checkpoint();
            }
        }
        objective.save(out.resolve("final"));
        metrics.plot(out.resolve("loss.png"));
        double seconds = (System.nanoTime() - started) / 1e9;
        return new TrainResult(step, lastLoss, bestEval, bestStep, tokensSinceStart, seconds);
    }

    private List<Sequence> nextSequences(int count) {
        List<Sequence> batch = new ArrayList<>();
        int size = data.train().size();
        for (int i = 0; i < count; i++) {
            int epoch = (int) (position / size);
            if (epoch != orderEpoch) {
                order = data.order(epoch);
                orderEpoch = epoch;
            }
            batch.add(data.train().get(order[(int) (position % size)]));
            position++;
        }
        return batch;
    }

    private double evaluate() {
        List<Sequence> heldOut = data.heldOut().isEmpty() ? data.train() : data.heldOut();
        int batches = Math.min(config.evalBatches(), heldOut.size());
        double total = 0;
        for (int i = 0; i < batches; i++) {
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                total += objective.evalLoss(Batch.of(List.of(heldOut.get(i))));
            }
        }
        return total / Math.max(1, batches);
    }

    private void afterEvaluation(double evalLoss) {
        if (evalLoss < bestEval) {
            bestEval = evalLoss;
            bestStep = step;
            objective.save(out.resolve("best"));
        }
        if (config.schedule().equals("plateau")) {
            // torch ReduceLROnPlateau (mode min, threshold 1e-4 relative): patience counts evaluations.
            if (evalLoss < plateauBest * (1 - 1e-4)) {
                plateauBest = evalLoss;
                plateauBadEvals = 0;
            } else if (++plateauBadEvals > config.plateauPatience()) {
                learningRate = Math.max(config.minLearningRate(), learningRate * config.plateauFactor());
                plateauBadEvals = 0;
                listener.onMessage("step " + step + ": held-out loss stalled, learning rate now " + learningRate);
            }
        }
    }

    private double currentLearningRate() {
        if (!config.schedule().equals("cosine")) {
            return learningRate;
        }
        int s = step + 1;
        if (s <= config.warmupSteps()) {
            learningRate = config.learningRate() * s / config.warmupSteps();
        } else {
            double progress = (double) (s - config.warmupSteps()) / Math.max(1, config.maxSteps() - config.warmupSteps());
            learningRate = config.minLearningRate()
                    + 0.5 * (config.learningRate() - config.minLearningRate()) * (1 + Math.cos(Math.PI * Math.min(1, progress)));
        }
        return learningRate;
    }

    private void checkpoint() {
        Path dir = out.resolve("checkpoint");
        AtomicFiles.createDirectories(dir);
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        try (PointerScope scope = new PointerScope()) {
            List<Tensor> params = optimizer.parameters();
            for (int i = 0; i < params.size(); i++) {
                tensors.put("param." + i, Tensors.toData(params.get(i)));
                tensors.put("adam_m." + i, Tensors.toData(optimizer.firstMoments().get(i)));
                tensors.put("adam_v." + i, Tensors.toData(optimizer.secondMoments().get(i)));
            }
        }
        // Rows up to this step reach the disk before the state that points at this step does;
        // a restore drops any rows written after the last complete checkpoint.
        metrics.flush();
        String weights = "state-" + step + ".safetensors";
        SafetensorsWriter.write(dir.resolve(weights), tensors, Map.of());
        ObjectNode state = JSON.createObjectNode();
        state.put("weights", weights);
        state.put("step", step);
        state.put("position", position);
        state.put("learning_rate", learningRate);
        state.put("best_eval", bestEval);
        state.put("best_step", bestStep);
        state.put("plateau_best", plateauBest);
        state.put("plateau_bad_evals", plateauBadEvals);
        state.put("adam_steps", optimizer.steps());
        state.put("seed", config.seed());
        // state.json is renamed into place last, so it always names a complete weights file.
        AtomicFiles.writeString(dir.resolve("state.json"), state.toPrettyString());
        try (var files = Files.list(dir)) {
            for (Path old : files.filter(p -> p.getFileName().toString().startsWith("state-")
                    && !p.getFileName().toString().equals(weights)).toList()) {
                Files.deleteIfExists(old);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void restore() {
        Path dir = out.resolve("checkpoint");
        try {
            var state = JSON.readTree(dir.resolve("state.json").toFile());
            if (state.path("seed").asLong() != config.seed()) {
                throw BadInputException.at(dir.resolve("state.json"), "seed",
                        "checkpoint was made with seed " + state.path("seed").asLong() + ", this run uses " + config.seed());
            }
            try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(state.get("weights").asText()));
                    NoGradGuard noGrad = new NoGradGuard()) {
                List<Tensor> params = optimizer.parameters();
                for (int i = 0; i < params.size(); i++) {
                    if (!file.contains("param." + i)) {
                        throw BadInputException.at(file.path(), "param." + i, "checkpoint does not match this run's parameters");
                    }
                    params.get(i).copy_(Tensors.fromData(file.get("param." + i)));
                    optimizer.firstMoments().get(i).copy_(Tensors.fromData(file.get("adam_m." + i)));
                    optimizer.secondMoments().get(i).copy_(Tensors.fromData(file.get("adam_v." + i)));
                }
            }
            step = state.get("step").asInt();
            position = state.get("position").asLong();
            learningRate = state.get("learning_rate").asDouble();
            bestEval = state.get("best_eval").asDouble();
            bestStep = state.get("best_step").asInt();
            plateauBest = state.get("plateau_best").asDouble();
            plateauBadEvals = state.get("plateau_bad_evals").asInt();
            optimizer.setSteps(state.get("adam_steps").asLong());
            metrics.truncateAfter(step);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
