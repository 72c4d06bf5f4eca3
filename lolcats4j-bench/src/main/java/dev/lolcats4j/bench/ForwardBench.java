package dev.lolcats4j.bench;

import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import dev.lolcats4j.kernels.VectorKernels;

/**
 * Whole-model speed of the synthetic ~125M Llama (bf16 weights, matmuls in the dtype the rule
 * picks): prefill throughput and its share of that dtype's GEMM rate, and softmax-KV-cache
 * decode against the weight-streaming bound, with the GEMM rate and memory bandwidth measured
 * in the same run.
 */
public final class ForwardBench {

    /**
     * @param gflops 2 x parameter_count x tokens / time (the usual estimate, embeddings included)
     * @param matmulGflops 2 x matmul parameters (projections + LM head) x tokens / time
     */
    public record Prefill(int batch, int tokens, double ms, double tokensPerSecond, double gflops, double matmulGflops,
            double fractionOfGemm, double matmulFractionOfGemm) {}

    /**
     * @param boundMs weight bytes / measured read bandwidth: the time just to stream the weights once
     * @param ratioToBound ms_per_token / bound_ms (target <= 1.5)
     */
    public record Decode(int context, int steps, double msPerToken, double tokensPerSecond, long weightBytes,
            double readGbps, double boundMs, double ratioToBound) {}

    /**
     * @param decode decode as generation runs it (the Java Vector API kernels when available)
     * @param decodeLibtorch the same decode with the kernels off (every op in libtorch), same run
     */
    public record Result(String model, long parameterCount, long matmulParameters, double gemmGflops,
            double readGbps, List<Prefill> prefill, Decode decode, Decode decodeLibtorch, boolean vectorKernels,
            double fractionTarget, double decodeRatioTarget) {}

    /** Prefill passes per shape stop at about this many seconds in all (estimated from the probe). */
    static final double PREFILL_CAP_SECONDS = 60;

    private ForwardBench() {}

    public static Result run(Options options) {
        Natives.init();
        dev.lolcats4j.kernels.WarmUp.awaitReady(); // steady-state decode: kernels compiled first
        BenchContext context = BenchContext.of(options.dtype());
        ComputeType type = context.computeType();
        MatmulBench.Gemm gemm;
        MatmulBench.Bandwidth bandwidth;
        long size = options.quick() ? 1024 : 2048;
        try (NoGradGuard g = new NoGradGuard()) {
            gemm = MatmulBench.cappedGemm(type.scalarType(), size, size, size, context.chosenGemmGflops(), options);
            bandwidth = MatmulBench.bandwidth(options.quick() ? 256L << 20 : 1L << 30, options);
        }
        double gemmGflops = gemm.gflops() != null ? gemm.gflops() : context.chosenGemmGflops();
        ModelConfig config = SyntheticModel.config(options.quick());
        DecoderModel model = SyntheticModel.create(config, type);
        long params = config.parameterCount();
        long matmulParams = SyntheticModel.matmulParameters(model);
        Timing.progress("forward: model %d params (%d in matmuls)", params, matmulParams);
        List<Prefill> prefills = new ArrayList<>();
        int[][] shapes = options.quick() ? new int[][] {{1, 256}} : new int[][] {{1, 1024}, {4, 512}};
        Random random = new Random(7);
        try (NoGradGuard g = new NoGradGuard()) {
            for (int[] s : shapes) {
                Tensor ids = Tensors.keep(SyntheticModel.ids(random, config.vocabSize(), s[0], s[1]));
                // The first passes of a fresh process fault in the activations' memory (slow in this
                // VM: 756, 673, 663 ms, then 434-490 for 1 x 1024): warm up past them.
                // On a slow path (bf16 forced where it is emulated) fewer passes: at most about
                // PREFILL_CAP_SECONDS in all, estimated from the probe at 40% of the GEMM rate.
                long tokensHere = (long) s[0] * s[1];
                double estimateSeconds = 2.0 * matmulParams * tokensHere / (0.4 * context.chosenGemmGflops() * 1e9);
                int warm = Math.max(4, options.warmup());
                int timed = options.iterations();
                if ((warm + timed) * estimateSeconds > PREFILL_CAP_SECONDS) {
                    warm = 1;
                    timed = (int) Math.max(1, Math.min(timed, PREFILL_CAP_SECONDS / estimateSeconds - 1));
                    Timing.progress("forward prefill %dx%d: ~%.0f s per pass at the probed rate: %d untimed + %d timed passes",
                            s[0], s[1], estimateSeconds, warm, timed);
                }
                double ms = Timing.medianMs(warm, timed, () -> model.forward(ids));
                long tokens = (long) s[0] * s[1];
                double gflops = 2.0 * params * tokens / (ms * 1e6);
                double matmulGflops = 2.0 * matmulParams * tokens / (ms * 1e6);
                Prefill p = new Prefill(s[0], s[1], Timing.round(ms, 2), Timing.round(tokens / (ms / 1e3), 1),
                        Timing.round(gflops, 1), Timing.round(matmulGflops, 1), Timing.round(gflops / gemmGflops, 3),
                        Timing.round(matmulGflops / gemmGflops, 3));
                Timing.progress("forward prefill %dx%d: %.1f ms, %.0f tok/s, %.0f GFLOP/s = %.0f%% of the %s GEMM (%.0f); matmuls only %.0f%%",
                        s[0], s[1], ms, p.tokensPerSecond(), gflops, 100 * p.fractionOfGemm(), context.dtype(), gemmGflops,
                        100 * p.matmulFractionOfGemm());
                prefills.add(p);
            }
            int steps = options.quick() ? 16 : 64;
            boolean kernels = VectorKernels.enabled() && model.decodesWithKernels();
            Decode decode = decode(model, 128, steps, bandwidth.readGbps(), kernels ? "vector kernels" : "libtorch");
            Decode decodeLibtorch = null;
            if (kernels) {
                VectorKernels.setEnabled(false);
                try {
                    decodeLibtorch = decode(model, 128, steps, bandwidth.readGbps(), "libtorch");
                } finally {
                    VectorKernels.setEnabled(true);
                }
            }
            return new Result(config.hiddenSize() + "h/" + config.numLayers() + "L/" + config.vocabSize() + "v, bf16 weights, "
                    + context.dtype() + " matmuls", params, matmulParams, gemmGflops, bandwidth.readGbps(), prefills, decode,
                    decodeLibtorch, kernels, 0.60, 1.5);
        }
    }

    /** Softmax KV-cache decode after a prefill of {@code context} tokens; median ms per step. */
    static Decode decode(DecoderModel model, int context, int steps, double readGbps, String path) {
        Random random = new Random(11);
        int vocab = model.config().vocabSize();
        double[] ms = new double[steps];
        int warm = 32; // the first Java decode step packs the weights; the JIT needs a few more
        List<LayerCache> caches = model.newCaches();
        try (PointerScope scope = new PointerScope()) {
            model.forward(SyntheticModel.ids(random, vocab, 1, context), Tensors.arange(context).unsqueeze(0),
                    AttentionContext.unpadded(), caches);
        }
        long position = context;
        for (int i = 0; i < warm + steps; i++) {
            try (PointerScope scope = new PointerScope()) {
                long start = System.nanoTime();
                step(model, caches, random.nextInt(vocab), position++);
                if (i >= warm) {
                    ms[i - warm] = (System.nanoTime() - start) / 1e6;
                }
            }
        }
        double median = Timing.median(ms);
        long weightBytes = SyntheticModel.matmulWeightBytes(model);
        double bound = weightBytes / (readGbps * 1e6);
        Timing.progress("forward decode (softmax KV, context %d, %s): %.2f ms/token (mean %.2f), %.1f tok/s; weights %.0f MiB / %.1f GB/s = %.2f ms -> %.2fx",
                context, path, median, Timing.mean(ms), 1e3 / median, Memory.mib(weightBytes), readGbps, bound, median / bound);
        return new Decode(context, steps, Timing.round(median, 3), Timing.round(1e3 / median, 1), weightBytes, readGbps,
                Timing.round(bound, 3), Timing.round(median / bound, 2));
    }

    /** One decode step, as the generator runs it: forward of one token, then the arg-max of its logits. */
    static long step(DecoderModel model, List<LayerCache> caches, long token, long position) {
        Tensor logits = model.forward(Tensors.ofLongs(new long[] {token}, 1, 1), Tensors.ofLongs(new long[] {position}, 1, 1),
                new AttentionContext(null, position), caches);
        return logits.argmax().item_long();
    }
}
