package dev.lolcats4j.bench;

import dev.lolcats4j.kernels.MatVecPass;
import dev.lolcats4j.kernels.MatrixView;
import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.Heads;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.Projection;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Where a decode step's time goes (one token, batch 1), all measured in the same run:
 * whole step for bf16 and f32 weights, the step split into its parts (RoPE tables, q/k/v,
 * attention, o_proj + MLP, LM head), the matvecs alone (libtorch bf16/f32 and the Vector API
 * bf16 kernel over the same weights), the cost of one small libtorch call from Java, and the
 * grouped-query key expansion of softmax decode at long context.
 */
public final class DecodeProfile {

    public record Result(Map<String, Double> msPerToken, Map<String, Double> notes) {}

    private DecodeProfile() {}

    public static Result run(Options options) {
        Natives.init();
        dev.lolcats4j.kernels.WarmUp.awaitReady(); // steady-state decode: kernels compiled first
        ModelConfig config = SyntheticModel.config(options.quick());
        Map<String, Double> ms = new LinkedHashMap<>();
        Map<String, Double> notes = new LinkedHashMap<>();
        int steps = options.quick() ? 16 : 48;
        try (NoGradGuard g = new NoGradGuard()) {
            DecoderModel bf16 = SyntheticModel.create(config, ComputeType.BF16);
            DecoderModel f32 = SyntheticModel.create(config, ComputeType.F32);
            ms.put("step_softmax_bf16", stepMs(bf16, 128, steps));
            ms.put("step_softmax_f32", stepMs(f32, 128, steps));
            parts(bf16, 128, steps, ms, "bf16_");

            // Matvecs alone, as the model calls them (Projection.apply: to(bf16), linear, to(f32)).
            List<Projection> projections = projections(bf16);
            List<Projection> projections32 = projections(f32);
            long bytes16 = projections.stream().mapToLong(p -> p.weight().nbytes()).sum();
            long bytes32 = projections32.stream().mapToLong(p -> p.weight().nbytes()).sum();
            double applyBf16 = Timing.medianMs(3, steps, () -> applyAll(projections));
            double applyF32 = Timing.medianMs(3, steps, () -> applyAll(projections32));
            double linearBf16 = Timing.medianMs(3, steps, () -> linearAll(projections));
            ms.put("matvecs_projection_apply_bf16", applyBf16);
            ms.put("matvecs_projection_apply_f32", applyF32);
            ms.put("matvecs_torch_linear_bf16_input", linearBf16);
            notes.put("matvec_weight_bytes_bf16", (double) bytes16);
            notes.put("matvecs_libtorch_bf16_gbps", bytes16 / (linearBf16 * 1e6));
            notes.put("matvecs_projection_apply_bf16_gbps", bytes16 / (applyBf16 * 1e6));
            notes.put("matvecs_projection_apply_f32_gbps", bytes32 / (applyF32 * 1e6));
            if (VectorKernels.enabled()) {
                double vector = vectorAll(projections, steps);
                ms.put("matvecs_vector_api_bf16", vector);
                notes.put("matvecs_vector_api_bf16_gbps", bytes16 / (vector * 1e6));
            }
            notes.put("matvec_calls_per_token", (double) projections.size());

            // One small libtorch op from Java, with its Scalar argument and PointerScope bookkeeping.
            Tensor small = Tensors.keep(torch.randn(new long[] {1, 1, config.hiddenSize()}, Tensors.options(Tensors.F32)));
            int calls = 20000;
            double perCallUs = 1e3 * Timing.medianMs(1, 5, () -> {
                for (int i = 0; i < calls; i++) {
                    small.mul(Tensors.scalar(1.0001));
                }
            }) / calls;
            notes.put("small_op_us_per_call", perCallUs);
            double viewUs = 1e3 * Timing.medianMs(1, 5, () -> {
                for (int i = 0; i < calls; i++) {
                    small.narrow(2, 0, 16);
                }
            }) / calls;
            notes.put("view_op_us_per_call", viewUs);

            // RoPE tables for one position, recomputed every step today.
            Tensor position = Tensors.keep(Tensors.ofLongs(new long[] {1000}, 1, 1));
            ms.put("rope_cos_sin", Timing.medianMs(5, 200, () -> bf16.rope().cosSin(position)));

            // Softmax decode at long context: GQA expansion (repeat_interleave copies) vs grouped matmul.
            int context = options.quick() ? 4096 : 32768;
            gqa(config, context, ms);

            // Hybrid decode split into parts, same model converted.
            Adapters.convert(bf16, AdapterConfig.defaults());
            ms.put("step_hybrid_bf16", stepMs(bf16, 512, steps));
            parts(bf16, 512, steps, ms, "hybrid_bf16_");
        }
        ms.replaceAll((k, v) -> Timing.round(v, 4));
        notes.replaceAll((k, v) -> Timing.round(v, 3));
        ms.forEach((k, v) -> Timing.progress("profile %-40s %9.3f ms", k, v));
        notes.forEach((k, v) -> Timing.progress("profile %-40s %9.3f", k, v));
        return new Result(ms, notes);
    }

    static double stepMs(DecoderModel model, int context, int steps) {
        List<LayerCache> caches = model.newCaches();
        DecodeBench.prefill(model, context, caches);
        return Timing.median(DecodeBench.steps(model, caches, context, steps));
    }

    /** The step taken apart with the public layer API; each part summed over layers. */
    static void parts(DecoderModel model, int context, int steps, Map<String, Double> out, String prefix) {
        List<LayerCache> caches = model.newCaches();
        DecodeBench.prefill(model, context, caches);
        double[][] t = new double[6][steps];
        Random random = new Random(1);
        long position = context;
        for (int s = -4; s < steps; s++) {
            try (PointerScope scope = new PointerScope()) {
                long t0 = System.nanoTime();
                Tensor ids = Tensors.ofLongs(new long[] {random.nextInt(model.config().vocabSize())}, 1, 1);
                Tensor[] cosSin = model.rope().cosSin(Tensors.ofLongs(new long[] {position}, 1, 1));
                Tensor x = model.embed(ids);
                long t1 = System.nanoTime();
                long qkv = 0, attn = 0, fin = 0;
                for (int i = 0; i < model.layers().size(); i++) {
                    DecoderLayer layer = model.layers().get(i);
                    long a = System.nanoTime();
                    Tensor[] q = layer.queryKeyValue(x, cosSin);
                    long b = System.nanoTime();
                    Tensor y = layer.attention().forward(q[0], q[1], q[2], new AttentionContext(null, position), caches.get(i));
                    long c = System.nanoTime();
                    x = layer.finish(x, y);
                    long d = System.nanoTime();
                    qkv += b - a;
                    attn += c - b;
                    fin += d - c;
                }
                long t2 = System.nanoTime();
                model.logits(x).argmax().item_long();
                long t3 = System.nanoTime();
                position++;
                if (s >= 0) {
                    t[0][s] = (t1 - t0) / 1e6;
                    t[1][s] = qkv / 1e6;
                    t[2][s] = attn / 1e6;
                    t[3][s] = fin / 1e6;
                    t[4][s] = (t3 - t2) / 1e6;
                    t[5][s] = (t3 - t0) / 1e6;
                }
            }
        }
        String[] names = {"embed_and_rope", "qkv_rope_all_layers", "attention_all_layers", "oproj_mlp_all_layers", "final_norm_lm_head_argmax", "total"};
        for (int i = 0; i < names.length; i++) {
            out.put(prefix + names[i], Timing.median(t[i]));
        }
    }

    static List<Projection> projections(DecoderModel model) {
        List<Projection> out = new ArrayList<>();
        for (DecoderLayer layer : model.layers()) {
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
                out.add(layer.projection(name));
            }
        }
        out.add(model.lmHead());
        return out;
    }

    private static final Map<Long, Tensor> INPUTS = new LinkedHashMap<>();

    private static Tensor input(long width) {
        return INPUTS.computeIfAbsent(width, w -> Tensors.keep(torch.randn(new long[] {1, 1, w}, Tensors.options(Tensors.F32))));
    }

    static void applyAll(List<Projection> projections) {
        for (Projection p : projections) {
            p.apply(input(p.inFeatures()));
        }
    }

    private static final Map<Long, Tensor> INPUTS16 = new LinkedHashMap<>();

    static void linearAll(List<Projection> projections) {
        for (Projection p : projections) {
            Tensor x = INPUTS16.computeIfAbsent(p.inFeatures(), w -> Tensors.keep(input(w).to(Tensors.BF16)));
            torch.linear(x, p.weight());
        }
    }

    static double vectorAll(List<Projection> projections, int steps) {
        int n = projections.size();
        MatrixView[] weights = new MatrixView[n];
        float[][] x = new float[n][];
        float[][] y = new float[n][];
        for (int i = 0; i < n; i++) {
            weights[i] = MatrixView.of(projections.get(i).weight());
            x[i] = Tensors.toFloats(input(weights[i].cols()));
            y[i] = new float[weights[i].rows()];
        }
        return Timing.medianMs(3, steps, () -> {
            for (int i = 0; i < n; i++) {
                MatVecPass.multiply(weights[i], x[i], 1, y[i]);
            }
        });
    }

    /** Per-layer softmax decode attention cost at a long context: today's expand vs a grouped view. */
    static void gqa(ModelConfig c, int context, Map<String, Double> out) {
        int group = c.groupSize();
        Tensor keys = Tensors.keep(torch.randn(new long[] {1, c.numKvHeads(), context, c.headDim()}, Tensors.options(Tensors.F32)));
        Tensor values = Tensors.keep(torch.randn(new long[] {1, c.numKvHeads(), context, c.headDim()}, Tensors.options(Tensors.F32)));
        Tensor q = Tensors.keep(torch.randn(new long[] {1, c.numHeads(), 1, c.headDim()}, Tensors.options(Tensors.F32)));
        double scale = 1.0 / Math.sqrt(c.headDim());
        double expand = Timing.medianMs(2, 10, () -> {
            Tensor k = Heads.expand(keys, group);
            Tensor v = Heads.expand(values, group);
            Tensors.softmaxF32(q.matmul(k.transpose(2, 3)).mul(Tensors.scalar(scale)), -1).matmul(v);
        });
        double grouped = Timing.medianMs(2, 10, () -> {
            Tensor qg = q.view(1, c.numKvHeads(), group, c.headDim());           // query heads of one kv head side by side
            Tensor p = Tensors.softmaxF32(qg.matmul(keys.transpose(2, 3)).mul(Tensors.scalar(scale)), -1);
            p.matmul(values).view(1, c.numHeads(), 1, c.headDim());
        });
        out.put("softmax_attention_layer_ctx" + context + "_expand", expand);
        out.put("softmax_attention_layer_ctx" + context + "_grouped", grouped);
    }
}
