package dev.lolcats4j.bench;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderLayer;
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
import org.bytedeco.pytorch.global.torch;

/**
 * Per-token decode time against context length on the synthetic ~125M model (bf16 weights):
 * LoLCATs hybrid (Adapters.convert with defaults; O(1) state) against softmax with a KV cache.
 *
 * <p>The hybrid model is prefilled for real (the chunked O(N) form, all layers; the LM head is
 * skipped since only the decode steps' logits matter). The softmax caches are filled directly:
 * each layer's SoftmaxAttention is called once with random post-RoPE keys and values
 * [1, Hkv, context, d] (unit normal) and a single query, which appends them to its KvCache
 * exactly as a prefill would (same length, capacity and dtype), without the quadratic prefill.
 * Every context is filled first; the steps are then timed in {@link #ROUNDS} rounds over all
 * contexts and models (here and in {@link #compare}, the demo's decode table), so that each
 * row's median mixes the same stretches of machine time.
 */
public final class DecodeBench {

    /**
     * @param linearPath "kernels" (Java Vector API) or "libtorch": how the linearized model's steps ran
     * @param softmaxPath the same for the softmax model
     * @param prefilledTokens tokens the hybrid model was really prefilled with (less than context
     *     where a full prefill would take minutes on this CPU: its state has the same size either
     *     way, and decoding starts at position {@code context})
     */
    public record Row(long context, double linearMsPerToken, double softmaxMsPerToken, long linearStateBytes,
            long softmaxCacheBytes, String linearPath, String softmaxPath, long prefilledTokens, double linearRatioToBound,
            double sparseMsPerToken, long sparseStateBytes, String sparsePath) {}

    /** C of the sparse-cache rows (docs/sparse-cache.md): the LoLCATs model with that cache. */
    public static final int SPARSE_CACHE = 64;

    /**
     * @param weightBytes matmul weights a step streams (bf16)
     * @param boundMs weight bytes / the same-run read bandwidth
     * @param flatness linear ms at the largest context / at the smallest (target <= 1.2)
     */
    public record Result(List<Row> rows, long weightBytes, double boundMs, Double flatness, String note) {}

    /** A real prefill longer than this (estimated from the probed GEMM rate) is shortened. */
    static final double PREFILL_CAP_SECONDS = 60;

    /** Resident memory over a long hybrid decode loop. */
    public record RssCheck(int context, int steps, List<long[]> samples, long firstRssBytes, long lastRssBytes,
            double growthMiB, double msPerToken, long stateBytes) {}

    private DecodeBench() {}

    public static Result run(Options options) {
        Natives.init();
        dev.lolcats4j.kernels.WarmUp.awaitReady(); // steady-state decode: kernels compiled first
        BenchContext bench = BenchContext.of(options.dtype());
        ModelConfig config = SyntheticModel.config(options.quick());
        DecoderModel softmax = SyntheticModel.create(config, bench.computeType());
        DecoderModel linear = SyntheticModel.create(config, bench.computeType());
        Adapters.convert(linear, AdapterConfig.defaults());
        int[] contexts = options.quick() ? new int[] {512, 2048} : new int[] {512, 2048, 8192, 32768};
        int steps = options.quick() ? 8 : 32;
        long weightBytes = SyntheticModel.matmulWeightBytes(linear);
        double boundMs = weightBytes / (bench.readGbps() * 1e6);
        // Prefill runs at ~40% of the GEMM rate or better; cap the tokens so that it stays under the cap.
        double prefillTokensPerSecond = 0.4 * bench.chosenGemmGflops() * 1e9 / (2.0 * SyntheticModel.matmulParameters(linear));
        long maxPrefill = Math.max(options.quick() ? 512 : 2048, (long) (PREFILL_CAP_SECONDS * prefillTokensPerSecond) / 512 * 512);
        String note = null;
        List<Row> rows = new ArrayList<>();
        try (NoGradGuard g = new NoGradGuard()) {
            // Every context's caches first, then the decode steps in rounds over all contexts and
            // models: the ratios (flatness, LoLCATs against softmax, against the bound) then
            // compare times taken in the same minutes, not a row measured while the machine was
            // slow against one measured while it was not (one 512-token row read 11.1 ms per
            // token on this VM where the next three read 4.9-5.5).
            List<Contexts> filled = new ArrayList<>();
            for (int context : contexts) {
                long start = System.nanoTime();
                int prefilled = (int) Math.min(context, maxPrefill);
                if (prefilled < context) {
                    note = String.format(java.util.Locale.ROOT, "hybrid prefill capped at %d tokens (a full one would take over %.0f s "
                            + "at the probed %s GEMM rate); decoding starts at position = context, the state size does not depend on it",
                            prefilled, PREFILL_CAP_SECONDS, bench.dtype());
                }
                List<LayerCache> linearCaches = linear.newCaches();
                prefill(linear, prefilled, linearCaches);
                // The same LoLCATs weights with a sparse cache: its own prefill (the cache fills up)
                // and decode steps that evict one pair per token.
                Adapters.setSparseCache(linear, SPARSE_CACHE);
                List<LayerCache> sparseCaches = linear.newCaches();
                prefill(linear, prefilled, sparseCaches);
                Adapters.setSparseCache(linear, 0);
                Timing.progress("decode context %d: hybrid prefill of %d tokens (plain and with a sparse cache) %.1f s", context,
                        prefilled, (System.nanoTime() - start) / 1e9);
                List<LayerCache> softmaxCaches = softmax.newCaches();
                fillKv(softmax, context, softmaxCaches);
                filled.add(new Contexts(context, prefilled, linearCaches, sparseCaches, softmaxCaches));
            }
            timeInRounds(filled, linear, softmax, steps);
            Adapters.setSparseCache(linear, SPARSE_CACHE);
            String sparsePath = path(linear);
            Adapters.setSparseCache(linear, 0);
            for (Contexts c : filled) {
                double linMs = c.linear().medianMs();
                Row row = new Row(c.context(), Timing.round(linMs, 3), Timing.round(c.softmax().medianMs(), 3),
                        bytes(c.linear().caches()), bytes(c.softmax().caches()), path(linear), path(softmax), c.prefilled(),
                        Timing.round(linMs / boundMs, 2), Timing.round(c.sparse().medianMs(), 3), bytes(c.sparse().caches()),
                        sparsePath);
                Timing.progress("decode context %d: sparse cache C = %d: %.2f ms/token (%.2fx plain LoLCATs, %s); state %d B",
                        c.context(), SPARSE_CACHE, row.sparseMsPerToken(), row.sparseMsPerToken() / row.linearMsPerToken(),
                        sparsePath, row.sparseStateBytes());
                Timing.progress("decode context %d: linear %.2f ms/token (mean %.2f, %s, %.2fx the %.2f ms bound), softmax %.2f ms/token (mean %.2f, %s); state %d B, KV %d B; RSS %.0f MiB",
                        c.context(), row.linearMsPerToken(), c.linear().meanMs(), row.linearPath(), row.linearRatioToBound(), boundMs,
                        row.softmaxMsPerToken(), c.softmax().meanMs(), row.softmaxPath(),
                        row.linearStateBytes(), row.softmaxCacheBytes(), Memory.mib(Memory.residentBytes()));
                rows.add(row);
            }
            filled.clear();
            System.gc();
        }
        Row first = rows.get(0);
        Row last = rows.get(rows.size() - 1);
        Timing.progress("decode: linear ms/token at %d / at %d = %.2f (target <= 1.2); softmax ratio %.2f; state bytes constant: %s",
                last.context(), first.context(), last.linearMsPerToken() / first.linearMsPerToken(),
                last.softmaxMsPerToken() / first.softmaxMsPerToken(),
                rows.stream().allMatch(r -> r.linearStateBytes() == first.linearStateBytes()));
        Timing.progress("decode: sparse cache ms/token at %d / at %d = %.2f (target <= 1.2); at %d, %.2fx plain LoLCATs (target <= 1.3)",
                last.context(), first.context(), last.sparseMsPerToken() / first.sparseMsPerToken(), first.context(),
                first.sparseMsPerToken() / first.linearMsPerToken());
        return new Result(rows, weightBytes, Timing.round(boundMs, 3), Timing.round(last.linearMsPerToken() / first.linearMsPerToken(), 3),
                note);
    }

    static String path(DecoderModel model) {
        return model.decodesWithKernels() ? "kernels" : "libtorch";
    }

    /**
     * Decode ms/token (median of {@code steps}) and cache bytes of a softmax model and its
     * linearized twin at each context: the linearized model's state after a real prefill of
     * {@code context} random tokens, the softmax model's KV cache filled to that length.
     */
    public static List<Row> compare(DecoderModel softmax, DecoderModel linear, int[] contexts, int steps) {
        Natives.init();
        dev.lolcats4j.kernels.WarmUp.awaitReady();
        List<Row> rows = new ArrayList<>();
        try (NoGradGuard g = new NoGradGuard()) {
            List<Contexts> filled = new ArrayList<>();
            for (int context : contexts) {
                List<LayerCache> linearCaches = linear.newCaches();
                prefill(linear, context, linearCaches);
                List<LayerCache> softmaxCaches = softmax.newCaches();
                fillKv(softmax, context, softmaxCaches);
                filled.add(new Contexts(context, context, linearCaches, null, softmaxCaches));
            }
            timeInRounds(filled, linear, softmax, steps);
            for (Contexts c : filled) {
                rows.add(new Row(c.context(), Timing.round(c.linear().medianMs(), 3), Timing.round(c.softmax().medianMs(), 3),
                        bytes(c.linear().caches()), bytes(c.softmax().caches()), path(linear), path(softmax), c.context(), Double.NaN,
                        Double.NaN, 0, null));
            }
        }
        return rows;
    }

    /**
     * Bytes of a model's decode caches after a real prefill of {@code context} random tokens:
     * the linearized state, window and (if set) sparse cache, or a softmax model's KV cache.
     */
    public static long stateBytesAfterPrefill(DecoderModel model, int context) {
        Natives.init();
        try (NoGradGuard g = new NoGradGuard()) {
            List<LayerCache> caches = model.newCaches();
            prefill(model, context, caches);
            long bytes = bytes(caches);
            caches.clear();
            return bytes;
        }
    }

    /** Hybrid decode for many steps after a prefill, sampling VmRSS; the state must stay constant. */
    public static RssCheck rss(Options options) {
        Natives.init();
        dev.lolcats4j.kernels.WarmUp.awaitReady(); // the decode path generation takes: Java kernels
        ModelConfig config = SyntheticModel.config(options.quick());
        DecoderModel linear = SyntheticModel.create(config, BenchContext.of(options.dtype()).computeType());
        Adapters.convert(linear, AdapterConfig.defaults());
        int context = 512;
        int steps = options.quick() ? 400 : 2000;
        int every = steps / 8;
        List<long[]> samples = new ArrayList<>();
        Random random = new Random(5);
        double[] ms = new double[steps];
        List<LayerCache> caches = linear.newCaches();
        try (NoGradGuard g = new NoGradGuard()) {
            prefill(linear, context, caches);
            long position = context;
            for (int i = 0; i < steps; i++) {
                try (PointerScope scope = new PointerScope()) {
                    long start = System.nanoTime();
                    ForwardBench.step(linear, caches, random.nextInt(config.vocabSize()), position++);
                    ms[i] = (System.nanoTime() - start) / 1e6;
                }
                if (i % every == 0 || i == steps - 1) {
                    long rss = Memory.residentBytes();
                    samples.add(new long[] {i + 1, rss});
                    Timing.progress("rss: step %d: VmRSS %.1f MiB, state %d B", i + 1, Memory.mib(rss), bytes(caches));
                }
            }
        }
        // The first sample is after one step; growth is measured from the second (allocator warm).
        long first = samples.get(1)[1];
        long last = samples.get(samples.size() - 1)[1];
        double growth = Memory.mib(last - first);
        Timing.progress("rss: %+.1f MiB from step %d to %d", growth, samples.get(1)[0], steps);
        return new RssCheck(context, steps, samples, first, last, Timing.round(growth, 2), Timing.round(Timing.median(ms), 3),
                bytes(caches));
    }

    /** Real prefill through every layer (no LM head). */
    static void prefill(DecoderModel model, int context, List<LayerCache> caches) {
        try (PointerScope scope = new PointerScope()) {
            Tensor ids = SyntheticModel.ids(new Random(context), model.config().vocabSize(), 1, context);
            Tensor positions = Tensors.arange(context).unsqueeze(0);
            // hidden() frees each layer's temporaries as it goes (one scope for all layers ran out of memory at 8192).
            model.hidden(ids, positions, AttentionContext.unpadded(), caches);
        }
    }

    /** Appends random keys and values of the right shape to each softmax layer's KV cache. */
    static void fillKv(DecoderModel model, int context, List<LayerCache> caches) {
        ModelConfig c = model.config();
        torch.manual_seed(context);
        for (int i = 0; i < model.layers().size(); i++) {
            try (PointerScope scope = new PointerScope()) {
                DecoderLayer layer = model.layers().get(i);
                Tensor q = torch.randn(new long[] {1, c.numHeads(), 1, c.headDim()}, Tensors.options(Tensors.F32));
                Tensor k = torch.randn(new long[] {1, c.numKvHeads(), context, c.headDim()}, Tensors.options(Tensors.F32));
                Tensor v = torch.randn(new long[] {1, c.numKvHeads(), context, c.headDim()}, Tensors.options(Tensors.F32));
                layer.attention().forward(q, k, v, new AttentionContext(null, 0), caches.get(i));
            }
        }
    }

    /** Rounds over every context and model in which the decode steps are timed (see run). */
    static final int ROUNDS = 4;

    /** One context's filled decoders (sparse: null where the sparse cache is not measured). */
    private record Contexts(int context, int prefilled, Decoding linear, Decoding sparse, Decoding softmax) {

        Contexts(int context, int prefilled, List<LayerCache> linear, List<LayerCache> sparse, List<LayerCache> softmax) {
            this(context, prefilled, new Decoding(linear, context), sparse == null ? null : new Decoding(sparse, context),
                    new Decoding(softmax, context));
        }
    }

    /**
     * Times about {@code steps} decode steps per context and model in {@link #ROUNDS} rounds,
     * each over every context: so that each row's median mixes the same stretches of machine
     * time, and ratios between rows (flatness, LoLCATs against softmax) compare like with like.
     */
    private static void timeInRounds(List<Contexts> filled, DecoderModel linear, DecoderModel softmax, int steps) {
        int perRound = Math.max(1, steps / ROUNDS);
        for (int round = 0; round < ROUNDS; round++) {
            for (Contexts c : filled) {
                c.linear().time(linear, perRound);
                c.softmax().time(softmax, perRound);
                if (c.sparse() != null) {
                    Adapters.setSparseCache(linear, SPARSE_CACHE);
                    c.sparse().time(linear, perRound);
                    Adapters.setSparseCache(linear, 0);
                }
            }
        }
    }

    /** Caches that decoding continues in, round after round, and the step times taken so far. */
    private static final class Decoding {
        private final List<LayerCache> caches;
        private long position;
        private final List<Double> ms = new ArrayList<>();

        Decoding(List<LayerCache> caches, long position) {
            this.caches = caches;
            this.position = position;
        }

        List<LayerCache> caches() {
            return caches;
        }

        /** {@code count} more timed steps (after untimed ones: 32 the first time, for packing and the JIT, then 2). */
        void time(DecoderModel model, int count) {
            int warm = ms.isEmpty() ? 32 : 2;
            for (double t : steps(model, caches, position, count, warm)) {
                ms.add(t);
            }
            position += warm + count;
        }

        double medianMs() {
            return Timing.median(ms.stream().mapToDouble(Double::doubleValue).toArray());
        }

        double meanMs() {
            return Timing.mean(ms.stream().mapToDouble(Double::doubleValue).toArray());
        }
    }

    /** Milliseconds of each of {@code steps} decode steps from position {@code context}, after 32 untimed ones. */
    static double[] steps(DecoderModel model, List<LayerCache> caches, long context, int steps) {
        return steps(model, caches, context, steps, 32); // the first Java decode step packs the weights; the JIT needs a few more
    }

    /** Milliseconds of each of {@code steps} decode steps from position {@code position}, after {@code warm} untimed ones. */
    static double[] steps(DecoderModel model, List<LayerCache> caches, long position, int steps, int warm) {
        Random random = new Random(3);
        double[] ms = new double[steps];
        for (int i = 0; i < warm + steps; i++) {
            try (PointerScope scope = new PointerScope()) {
                long start = System.nanoTime();
                ForwardBench.step(model, caches, random.nextInt(model.config().vocabSize()), position++);
                if (i >= warm) {
                    ms[i - warm] = (System.nanoTime() - start) / 1e6;
                }
            }
        }
        return ms;
    }

    static long bytes(List<LayerCache> caches) {
        return caches.stream().mapToLong(LayerCache::bytes).sum();
    }
}
