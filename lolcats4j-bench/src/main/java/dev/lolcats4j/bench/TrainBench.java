package dev.lolcats4j.bench;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.LoraConfig;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.torch.Tensors;
import dev.lolcats4j.train.AdamW;
import dev.lolcats4j.train.AttentionTransfer;
import dev.lolcats4j.train.Batch;
import dev.lolcats4j.train.LoraFinetune;
import dev.lolcats4j.train.Objective;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Training throughput on a model shape (the synthetic ~125M model by default, or any shape from
 * flags or a config.json; random bf16 weights, matmuls in the dtype the rule picks): the same
 * model's prefill tokens/s, then stage-1 (attention transfer) and stage-2 (LoRA) optimiser
 * steps on one sequence, each timed in turn with the original model's prefill (the ratio's
 * two sides see the same machine state), each stage's peak resident memory, and the estimated share of step
 * time spent in the model's matmuls at the same-run GEMM rate. With the default shape, then
 * resident memory over a long run of stage-1 steps on a small model (native memory must stay flat).
 *
 * <p>Steps on big shapes take long on slow CPUs: after the first (untimed) step, timed steps
 * stop once {@link #STAGE_CAP_SECONDS} are spent (at least one is always timed).
 */
final class TrainBench {

    static final double STAGE_CAP_SECONDS = 120;

    /**
     * @param stage "transfer" (stage 1) or "lora" (stage 2)
     * @param prefillTokensPerS the original (softmax, no LoRA) model's no-grad forward, timed in turn
     *     with this stage's steps (one prefill, one step, ...) so that both see the same machine state
     * @param ratioToPrefill tokens_per_s / prefill_tokens_per_s (targets: stage 1 >= 0.8, stage 2 >= 0.35)
     * @param matmulShareEstimate the model's matmul FLOPs at the same-run GEMM rate over the step time
     * @param peakRssMib peak resident memory during this stage's steps (VmHWM, reset before the stage)
     * @param blockProducts the hybrid attention's block products in this stage ("bf16" where the
     *     matmuls are bf16, else "input": float32), see {@link dev.lolcats4j.lolcats.BlockProducts}
     */
    record Row(String stage, double tokensPerS, double prefillTokensPerS, double stepMs, int timedSteps, double ratioToPrefill,
            double matmulShareEstimate, double peakRssMib, boolean activationCheckpointing, String blockProducts) {}

    record Result(String model, long parameters, int sequenceLength, double prefillTokensPerS, double prefillMs,
            double gemmGflops, List<Row> rows, Integer rssSteps, Double rssStartMib, Double rssEndMib) {}

    private TrainBench() {}

    static Result run(Options options) {
        BenchContext context = BenchContext.of(options.dtype());
        ModelShape shape = options.shape() != null ? options.shape()
                : new ModelShape(SyntheticModel.config(options.quick()), options.quick() ? 256 : 1024);
        ModelConfig config = shape.config();
        int length = shape.sequenceLength();
        ComputeType type = context.computeType();
        double gemm = context.chosenGemmGflops();
        Random random = new Random(5);
        Timing.progress("train: %d layers, hidden %d, %d heads (%d kv), intermediate %d, vocab %d: %,d parameters; %d tokens; %s matmuls",
                config.numLayers(), config.hiddenSize(), config.numHeads(), config.numKvHeads(), config.intermediateSize(),
                config.vocabSize(), config.parameterCount(), length, context.dtype());

        DecoderModel model = SyntheticModel.create(config, type);
        long matmulParams = SyntheticModel.matmulParameters(model);
        Batch batch = batch(random, config.vocabSize(), length);

        double prefillMs;
        try (NoGradGuard g = new NoGradGuard()) {
            prefillMs = medianCapped(Math.max(2, options.warmup()), options.iterations(), () -> model.forward(batch.inputs()));
        }
        double prefill = length / (prefillMs / 1000);
        Timing.progress("train: prefill %.0f ms per %d tokens = %.0f tokens/s", prefillMs, length, prefill);

        AdapterConfig adapter = AdapterConfig.defaults();
        Adapters.convert(model, adapter);
        List<Row> rows = new ArrayList<>();
        // Stage 1 runs the frozen model forward once (teacher forcing; the LM head is skipped);
        // the feature maps' own matmuls are small.
        double stage1Flops = 2.0 * (matmulParams - model.lmHead().weight().numel()) * length;
        rows.add(stage("transfer", model, new AttentionTransfer(model, adapter), batch, options, stage1Flops, gemm, length, false));

        Adapters.addLora(model, adapter.withLora(LoraConfig.defaults()));
        // Stage 2: forward, and backward through the activations (no weight gradients for frozen weights).
        double stage2Flops = 4.0 * matmulParams * length;
        // Stage 2 checkpoints activations exactly when linearize would (a model this size at this length).
        boolean checkpointing = LoraFinetune.wantsCheckpointing(config, length);
        rows.add(stage("lora", model, new LoraFinetune(model, adapter.withLora(LoraConfig.defaults()), false, checkpointing), batch,
                options, stage2Flops, gemm, length, checkpointing));

        Integer rssSteps = null;
        Double start = null;
        Double end = null;
        if (options.shape() == null) {
            rssSteps = options.quick() ? 200 : 1000;
            double[] rss = rss(rssSteps);
            start = rss[0];
            end = rss[1];
        }
        return new Result(config.numLayers() + "L/" + config.hiddenSize() + "h/" + config.numHeads() + "q" + config.numKvHeads()
                + "kv/" + config.intermediateSize() + "i/" + config.vocabSize() + "v", config.parameterCount(), length,
                Timing.round(prefill, 1), Timing.round(prefillMs, 1), gemm, rows, rssSteps, start, end);
    }

    private static Row stage(String name, DecoderModel model, Objective objective, Batch batch, Options options, double flops,
            double gemmGflops, int length, boolean checkpointing) {
        System.gc();
        boolean peak = Memory.resetPeak();
        AdamW optimizer = new AdamW(objective.parameters(), 0.9, 0.999, 1e-8, 0);
        Runnable step = () -> {
            optimizer.zeroGrad();
            objective.trainStep(batch, 1.0);
            optimizer.step(1e-4);
        };
        long begin = System.nanoTime();
        // The stage's own peak: read after its untimed steps, before prefills are interleaved.
        warmUp(Math.max(1, options.warmup()), step, begin);
        double peakMib = peak ? Memory.mib(Memory.peakResidentBytes()) : Double.NaN;
        // The original model's prefill and a training step in turn: the ratio compares times
        // taken minutes apart on a noisy machine otherwise (the same prefill varied 30% per run).
        Runnable prefill = () -> OriginalPrefill.run(model, batch.inputs());
        Paired paired = paired(options.iterations(), prefill, step, begin);
        double prefillTokens = length / (paired.firstMs() / 1000);
        double tokens = length / (paired.secondMs() / 1000);
        double share = flops / (gemmGflops * 1e9) / (paired.secondMs() / 1000);
        String products = blockProducts(model);
        Row row = new Row(name, Timing.round(tokens, 1), Timing.round(prefillTokens, 1), Timing.round(paired.secondMs(), 1),
                paired.count(), Timing.round(tokens / prefillTokens, 3), Timing.round(share, 3), Timing.round(peakMib, 1),
                checkpointing, products);
        Timing.progress("train: stage %s: %.0f ms per %d-token step = %.0f tokens/s = %.2f x prefill (%.0f tokens/s, interleaved); matmuls ~%.0f%% of the step; peak RSS %.0f MiB; block products %s%s",
                name, paired.secondMs(), length, tokens, row.ratioToPrefill(), prefillTokens, 100 * share, peakMib, products,
                checkpointing ? " (activation checkpointing)" : "");
        return row;
    }

    /** Medians of two bodies timed in turn, and how many pairs were timed. */
    private record Paired(double firstMs, double secondMs, int count) {}

    /** Untimed runs of {@code body}; stops early (after the first) once half the stage cap is spent. */
    private static void warmUp(int warmup, Runnable body, long begin) {
        for (int i = 0; i < warmup; i++) {
            try (PointerScope scope = new PointerScope()) {
                body.run();
            }
            if ((System.nanoTime() - begin) / 1e9 > STAGE_CAP_SECONDS / 2) {
                break;
            }
        }
    }

    /**
     * Up to {@code iterations} timed pairs (first, then second; one untimed run of the first
     * before them), stopping early once {@link #STAGE_CAP_SECONDS} since {@code begin} are spent
     * (at least one pair is always timed).
     */
    private static Paired paired(int iterations, Runnable first, Runnable second, long begin) {
        warmUp(1, first, System.nanoTime());
        double[] firstMs = new double[iterations];
        double[] secondMs = new double[iterations];
        int n = 0;
        while (n < iterations) {
            firstMs[n] = timed(first);
            secondMs[n] = timed(second);
            n++;
            if ((System.nanoTime() - begin) / 1e9 > STAGE_CAP_SECONDS) {
                break;
            }
        }
        return new Paired(Timing.median(java.util.Arrays.copyOf(firstMs, n)), Timing.median(java.util.Arrays.copyOf(secondMs, n)), n);
    }

    private static double timed(Runnable body) {
        try (PointerScope scope = new PointerScope()) {
            long start = System.nanoTime();
            body.run();
            return (System.nanoTime() - start) / 1e6;
        }
    }

    /** The block products the model's LoLCATs layers run (the objective chose them when it was built). */
    private static String blockProducts(DecoderModel model) {
        for (dev.lolcats4j.model.DecoderLayer layer : model.layers()) {
            if (layer.attention() instanceof dev.lolcats4j.lolcats.HybridAttention hybrid) {
                return hybrid.blockProducts().name().toLowerCase(java.util.Locale.ROOT);
            }
        }
        return "none";
    }

    /** Median ms of up to {@code iterations} timed runs, stopping early once {@link #STAGE_CAP_SECONDS} are spent. */
    private static double medianCapped(int warmup, int iterations, Runnable body) {
        long begin = System.nanoTime();
        warmUp(warmup, body, begin);
        double[] ms = new double[iterations];
        int n = 0;
        while (n < iterations) {
            ms[n++] = timed(body);
            if ((System.nanoTime() - begin) / 1e9 > STAGE_CAP_SECONDS) {
                break;
            }
        }
        return Timing.median(java.util.Arrays.copyOf(ms, n));
    }

    private static Batch batch(Random random, int vocab, int length) {
        Tensor ids = SyntheticModel.ids(random, vocab, 1, length + 1);
        return new Batch(Tensors.keep(ids.narrow(1, 0, length).contiguous()), Tensors.keep(ids.narrow(1, 1, length).contiguous()),
                Tensors.keep(Tensors.ones(Tensors.F32, 1, length)));
    }

    /** RSS (MiB) after 50 warm-up steps and after {@code steps} more, on a small model. */
    private static double[] rss(int steps) {
        ModelConfig small = ModelConfig.llama(512, 128, 352, 2, 4, 2);
        DecoderModel model = dev.lolcats4j.model.ModelFactory.random(small, ComputeType.F32, 1234);
        AdapterConfig adapter = new AdapterConfig(dev.lolcats4j.lolcats.AttentionKind.HYBRID_SW,
                dev.lolcats4j.lolcats.FeatureMapKind.SOFTMAX_DIM, 16, 16, false, false, java.util.List.of(), null);
        Adapters.convert(model, adapter);
        AttentionTransfer objective = new AttentionTransfer(model, adapter);
        AdamW optimizer = new AdamW(objective.parameters(), 0.9, 0.999, 1e-8, 0);
        Random random = new Random(9);
        double start = 0;
        for (int step = 0; step < steps + 50; step++) {
            if (step == 50) {
                System.gc();
                start = Memory.mib(Memory.residentBytes());
            }
            try (PointerScope scope = new PointerScope()) {
                Tensor ids = SyntheticModel.ids(random, small.vocabSize(), 2, 129);
                Batch batch = new Batch(ids.narrow(1, 0, 128).contiguous(), ids.narrow(1, 1, 128).contiguous(),
                        Tensors.ones(Tensors.F32, 2, 128));
                optimizer.zeroGrad();
                objective.trainStep(batch, 1.0);
                optimizer.step(1e-3);
            }
        }
        System.gc();
        double end = Memory.mib(Memory.residentBytes());
        System.err.printf("rss over %d stage-1 steps: %.1f MiB -> %.1f MiB%n", steps, start, end);
        return new double[] {start, end};
    }
}
