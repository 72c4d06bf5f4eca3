package dev.lolcats4j.bench;

import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.Projection;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Why prefill is far below the GEMM rate: one model-shaped projection (1024 tokens, 768 to 2048)
 * through each path libtorch offers, and one prefill split into layer parts, in GFLOP/s.
 */
public final class LinearProbe {

    public record Result(Map<String, Double> gflops, Map<String, Double> ms) {}

    private LinearProbe() {}

    public static Result run(Options options) {
        Natives.init();
        Map<String, Double> gflops = new LinkedHashMap<>();
        Map<String, Double> ms = new LinkedHashMap<>();
        int tokens = options.quick() ? 256 : 1024;
        long in = 768;
        long out = 2048;
        double flops = 2.0 * tokens * in * out;
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor w = Tensors.keep(torch.randn(new long[] {out, in}, Tensors.options(Tensors.F32)).to(Tensors.BF16));
            Tensor wt = Tensors.keep(w.t().contiguous());
            Tensor x32 = Tensors.keep(torch.randn(new long[] {1, tokens, in}, Tensors.options(Tensors.F32)));
            Tensor x16 = Tensors.keep(x32.to(Tensors.BF16));
            Tensor x2d = Tensors.keep(x16.view(tokens, in));
            Projection projection = new Projection(w, null);
            put(gflops, "mm_bf16_2d_weight_pretransposed", flops, options, () -> torch.mm(x2d, wt));
            put(gflops, "mm_bf16_2d_weight_t_view", flops, options, () -> torch.mm(x2d, w.t()));
            put(gflops, "linear_bf16_2d", flops, options, () -> torch.linear(x2d, w));
            put(gflops, "linear_bf16_3d", flops, options, () -> torch.linear(x16, w));
            put(gflops, "matmul_bf16_3d_pretransposed", flops, options, () -> x16.matmul(wt));
            put(gflops, "projection_apply_f32_in_out", flops, options, () -> projection.apply(x32));
            Tensor w32 = Tensors.keep(w.to(Tensors.F32));
            put(gflops, "linear_f32_3d", flops, options, () -> torch.linear(x32, w32));
            put(ms, "to_bf16_and_back_ms", 0, options, () -> x32.to(Tensors.BF16).to(Tensors.F32));

            ModelConfig config = SyntheticModel.config(options.quick());
            DecoderModel model = SyntheticModel.create(config, ComputeType.BF16);
            Tensor ids = Tensors.keep(SyntheticModel.ids(new Random(1), config.vocabSize(), 1, tokens));
            Tensor positions = Tensors.keep(Tensors.arange(tokens).unsqueeze(0));
            DecoderLayer layer = model.layers().get(0);
            Tensor[] cosSin = model.rope().cosSin(positions);
            Tensors.keep(cosSin[0]);
            Tensors.keep(cosSin[1]);
            Tensor x = Tensors.keep(model.embed(ids));
            Tensor[] qkv = layer.queryKeyValue(x, cosSin);
            for (Tensor t : qkv) {
                Tensors.keep(t);
            }
            Tensor y = Tensors.keep(layer.attention().forward(qkv[0], qkv[1], qkv[2], dev.lolcats4j.model.AttentionContext.unpadded(), null));
            put(ms, "layer_qkv_rope_ms", 0, options, () -> layer.queryKeyValue(x, cosSin));
            put(ms, "layer_softmax_attention_ms", 0, options,
                    () -> layer.attention().forward(qkv[0], qkv[1], qkv[2], dev.lolcats4j.model.AttentionContext.unpadded(), null));
            put(ms, "layer_oproj_mlp_ms", 0, options, () -> layer.finish(x, y));
            put(ms, "layer_full_ms", 0, options,
                    () -> layer.forward(x, cosSin, dev.lolcats4j.model.AttentionContext.unpadded(), null));
            put(ms, "lm_head_ms", 0, options, () -> model.logits(x));
            put(ms, "model_forward_ms", 0, options, () -> model.forward(ids));
        }
        gflops.forEach((k, v) -> Timing.progress("probe %-36s %8.1f GFLOP/s", k, v));
        ms.forEach((k, v) -> Timing.progress("probe %-36s %8.2f ms", k, v));
        return new Result(gflops, ms);
    }

    private static void put(Map<String, Double> out, String name, double flops, Options options, Runnable body) {
        double ms = Timing.medianMs(Math.max(1, options.warmup()), options.iterations(), body);
        out.put(name, Timing.round(flops > 0 ? flops / (ms * 1e6) : ms, 2));
    }
}
