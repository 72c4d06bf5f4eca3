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
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Training throughput: stage-1 and stage-2 optimiser steps on one sequence of 1024 tokens of
 * the synthetic ~100M model (frozen weights bf16), the bf16 GEMM rate measured in the same run,
 * and the estimated share of step time spent in the model's matmuls. Then resident memory over
 * a long run of stage-1 steps on a small model (native memory must stay flat).
 */
final class TrainBench {

    record Result(long parameters, int sequenceLength, double stage1TokensPerSecond, double stage2TokensPerSecond,
            double bf16MatmulGflops, double stage1MatmulShareEstimate, double stage2MatmulShareEstimate,
            int rssSteps, double rssStartMib, double rssEndMib) {}

    private TrainBench() {}

    static Result run(Options options) {
        int length = options.quick() ? 256 : 1024;
        ModelConfig config = SyntheticModel.config(options.quick());
        long size = options.quick() ? 1024 : 2048;
        double gemm = MatmulBench.gemm(Tensors.BF16, size, size, size, options).gflops();
        Random random = new Random(5);

        DecoderModel model = SyntheticModel.create(config, ComputeType.BF16);
        AdapterConfig adapter = AdapterConfig.defaults();
        Adapters.convert(model, adapter);
        long matmulParams = SyntheticModel.matmulParameters(model);
        Batch batch = batch(random, config.vocabSize(), length);
        double stage1Ms = stepMs(new AttentionTransfer(model, adapter), batch, options);
        System.err.printf("stage 1: %.0f ms per %d-token step%n", stage1Ms, length);

        Adapters.addLora(model, adapter.withLora(LoraConfig.defaults()));
        double stage2Ms = stepMs(new LoraFinetune(model, adapter.withLora(LoraConfig.defaults()), false), batch, options);
        System.err.printf("stage 2: %.0f ms per %d-token step%n", stage2Ms, length);

        // Stage 1 runs the frozen model forward once (teacher forcing; the LM head is skipped);
        // stage 2 runs forward and backward through activations: about 2 + 2 x params x tokens.
        double stage1Flops = 2.0 * (matmulParams - model.lmHead().weight().numel()) * length;
        double stage2Flops = 4.0 * matmulParams * length;
        double rate = gemm * 1e9;

        int rssSteps = options.quick() ? 200 : 1000;
        double[] rss = rss(rssSteps);
        return new Result(config.parameterCount(), length, length / (stage1Ms / 1000), length / (stage2Ms / 1000), gemm,
                stage1Flops / rate / (stage1Ms / 1000), stage2Flops / rate / (stage2Ms / 1000), rssSteps, rss[0], rss[1]);
    }

    private static double stepMs(Objective objective, Batch batch, Options options) {
        AdamW optimizer = new AdamW(objective.parameters(), 0.9, 0.999, 1e-8, 0);
        return Timing.medianMs(Math.max(1, options.warmup()), options.iterations(), () -> {
            optimizer.zeroGrad();
            objective.trainStep(batch, 1.0);
            optimizer.step(1e-4);
        });
    }

    private static Batch batch(Random random, int vocab, int length) {
        Tensor ids = SyntheticModel.ids(random, vocab, 1, length + 1);
        return new Batch(Tensors.keep(ids.narrow(1, 0, length).contiguous()), Tensors.keep(ids.narrow(1, 1, length).contiguous()),
                Tensors.keep(Tensors.ones(Tensors.F32, 1, length)));
    }

    /** RSS (MiB) after 50 warm-up steps and after {@code steps} more, on a small model. */
    private static double[] rss(int steps) {
        ModelConfig small = ModelConfig.llama(512, 128, 352, 2, 4, 2);
        DecoderModel model = SyntheticModel.create(small, ComputeType.F32);
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
