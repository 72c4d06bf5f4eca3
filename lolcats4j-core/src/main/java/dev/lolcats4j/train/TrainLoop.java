package dev.lolcats4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.data.PackedDataset.Sequence;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.Checksums;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.torch.Tensors;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 * (at the last step), {@code checkpoint/} (see {@link Checkpoints}: the newest two, checksummed and
 * verified on resume, with the run's identity), metrics.csv, loss.png.
 */
public final class TrainLoop {

    private static final ObjectMapper JSON = dev.lolcats4j.io.JsonFiles.strictMapper();

    private final Objective objective;
    private final PackedDataset data;
    private final TrainConfig config;
    private final Path out;
    private final TrainListener listener;
    private final AdamW optimizer;
    private final Metrics metrics;
    private final Checkpoints checkpoints;

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
        this(objective, data, config, out, listener, Map.of());
    }

    /**
     * @param runIdentity what else the run depends on (command-line options, checksums of the
     *                    model and other inputs), name to value; recorded in every checkpoint,
     *                    and a resume whose identity differs is refused naming the first
     *                    difference. The data and this TrainConfig are added automatically.
     */
    public TrainLoop(Objective objective, PackedDataset data, TrainConfig config, Path out, TrainListener listener,
            Map<String, String> runIdentity) {
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
        this.checkpoints = new Checkpoints(out.resolve("checkpoint"), identity(runIdentity, data, config));
    }

    /** Whether {@code out} holds a checkpoint that {@code run(true)} would look at. */
    public static boolean hasCheckpoint(Path out) {
        return Checkpoints.exists(out);
    }

    /**
     * Before any expensive step of a resumed run: refuses (bad input) if no checkpoint in
     * {@code out} is intact, or the newest intact one was made with other values of these
     * identity entries (naming the first difference). Does nothing if there is no checkpoint.
     */
    public static void checkResume(Path out, Map<String, String> runIdentity) {
        Checkpoints.precheck(out.resolve("checkpoint"), runIdentity);
    }

    private static Map<String, String> identity(Map<String, String> runIdentity, PackedDataset data, TrainConfig config) {
        Map<String, String> id = new LinkedHashMap<>(runIdentity);
        List<int[]> tokens = new ArrayList<>();
        for (List<Sequence> part : List.of(data.train(), data.heldOut())) {
            tokens.add(new int[] {part.size()});
            for (Sequence s : part) {
                tokens.add(s.tokens());
                int[] counts = new int[s.targetCounts().length];
                for (int i = 0; i < counts.length; i++) {
                    counts[i] = s.targetCounts()[i] ? 1 : 0;
                }
                tokens.add(counts);
            }
        }
        tokens.add(data.order(0));
        id.put("training data (packed token ids and training order)", Checksums.ints(tokens));
        for (RecordComponent c : TrainConfig.class.getRecordComponents()) {
            // How often checkpoints are written does not change the result: it may differ on resume.
            if (!c.getName().equals("checkpointEvery")) {
                try {
                    id.put("training setting " + c.getName(), String.valueOf(c.getAccessor().invoke(config)));
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return id;
    }

    /** Runs to {@code maxSteps}; with {@code resume}, first restores the last checkpoint in {@code out}. */
    public TrainResult run(boolean resume) {
        AtomicFiles.createDirectories(out);
        if (resume && restore()) {
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
            metrics.append(step, loss, evalLoss, learningRate);
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
        // a restore drops any rows written after the checkpoint it resumes from.
        metrics.flush();
        ObjectNode state = JSON.createObjectNode();
        state.put("position", position);
        state.put("learning_rate", learningRate);
        state.put("best_eval", bestEval);
        state.put("best_step", bestStep);
        state.put("plateau_best", plateauBest);
        state.put("plateau_bad_evals", plateauBadEvals);
        state.put("adam_steps", optimizer.steps());
        state.put("seed", config.seed());
        checkpoints.save(step, state, tensors);
    }

    /** Restores the newest intact checkpoint; false if there is none to resume from. */
    private boolean restore() {
        Optional<JsonNode> restored = checkpoints.restore(this::restoreTensors, listener::onMessage);
        if (restored.isEmpty()) {
            return false;
        }
        JsonNode state = restored.get();
        step = state.get("step").asInt();
        position = state.path("position").asLong();
        learningRate = state.path("learning_rate").asDouble();
        bestEval = state.path("best_eval").asDouble();
        bestStep = state.path("best_step").asInt();
        plateauBest = state.path("plateau_best").asDouble();
        plateauBadEvals = state.path("plateau_bad_evals").asInt();
        optimizer.setSteps(state.path("adam_steps").asLong());
        metrics.truncateAfter(step);
        return true;
    }

    private void restoreTensors(SafetensorsFile file) {
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<Tensor> params = optimizer.parameters();
            if (file.tensors().size() != 3 * params.size()) {
                throw new IllegalStateException(file.tensors().size() + " tensors, this run has " + 3 * params.size());
            }
            for (int i = 0; i < params.size(); i++) {
                copy(file, "param." + i, params.get(i));
                copy(file, "adam_m." + i, optimizer.firstMoments().get(i));
                copy(file, "adam_v." + i, optimizer.secondMoments().get(i));
            }
        }
    }

    private static void copy(SafetensorsFile file, String name, Tensor into) {
        if (!file.contains(name)) {
            throw new IllegalStateException("tensor " + name + " missing");
        }
        TensorData data = file.get(name);
        if (!java.util.Arrays.equals(data.shape(), Tensors.shape(into))) {
            throw new IllegalStateException("tensor " + name + " has shape " + java.util.Arrays.toString(data.shape())
                    + ", this run's is " + java.util.Arrays.toString(Tensors.shape(into)));
        }
        into.copy_(Tensors.fromData(data));
    }

}
