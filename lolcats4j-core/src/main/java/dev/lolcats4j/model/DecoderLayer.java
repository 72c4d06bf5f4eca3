package dev.lolcats4j.model;

import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * One pre-norm decoder block: RMSNorm, q/k/v projections, RoPE, attention, o_proj, residual;
 * RMSNorm, SwiGLU MLP, residual. The residual stream is float32.
 */
public final class DecoderLayer {

    final Tensor inputNorm;
    final Tensor postNorm;
    final Projection q, k, v, o;
    final Projection gate, up, down;
    private final ModelConfig config;
    private final int slidingWindow;
    private Attention attention;

    /** @param index this layer's position in the model (which decides its sliding window, if any) */
    DecoderLayer(ModelConfig config, int index, Tensor inputNorm, Tensor postNorm, Projection q, Projection k, Projection v,
            Projection o, Projection gate, Projection up, Projection down) {
        this.config = config;
        this.slidingWindow = config.slidingWindow(index);
        this.inputNorm = inputNorm;
        this.postNorm = postNorm;
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.attention = softmaxAttention();
    }

    /** The full block: x [B, N, D] float32 in, float32 out. */
    public Tensor forward(Tensor x, Tensor[] cosSin, AttentionContext context, LayerCache cache) {
        Tensor[] qkv = queryKeyValue(x, cosSin);
        Tensor y = attention.forward(qkv[0], qkv[1], qkv[2], context, cache);
        return finish(x, y);
    }

    /** Post-RoPE q [B,H,N,d], k and v [B,Hkv,N,d], float32. */
    public Tensor[] queryKeyValue(Tensor x, Tensor[] cosSin) {
        long b = x.size(0);
        long n = x.size(1);
        int d = config.headDim();
        // Cast the normed input once for the three projections (a no-op in float32 mode).
        Tensor h = rmsNorm(x, inputNorm, config.rmsNormEps()).to(q.matmulScalarType());
        Tensor qh = q.apply(h).view(b, n, config.numHeads(), d).transpose(1, 2);
        Tensor kh = k.apply(h).view(b, n, config.numKvHeads(), d).transpose(1, 2);
        Tensor vh = v.apply(h).view(b, n, config.numKvHeads(), d).transpose(1, 2);
        return new Tensor[] {Rope.apply(qh, cosSin[0], cosSin[1]), Rope.apply(kh, cosSin[0], cosSin[1]), vh};
    }

    /** o_proj of the per-head outputs, residual, then the MLP half of the block. */
    public Tensor finish(Tensor x, Tensor heads) {
        long b = heads.size(0);
        long n = heads.size(2);
        Tensor merged = heads.transpose(1, 2).reshape(b, n, (long) config.numHeads() * config.headDim());
        Tensor afterAttention = x.add(o.apply(merged));
        Tensor h = rmsNorm(afterAttention, postNorm, config.rmsNormEps());
        Tensor mlp;
        if (gate.lora() == null && up.lora() == null) {
            // SwiGLU stays in the matmul dtype between its matmuls, as Hugging Face runs it.
            Tensor hc = h.to(gate.matmulScalarType());
            mlp = down.apply(torch.silu(gate.project(hc)).mul(up.project(hc)));
        } else {
            mlp = down.apply(torch.silu(gate.apply(h)).mul(up.apply(h)));
        }
        return afterAttention.add(mlp);
    }

    static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        Tensor variance = x.pow(Tensors.scalar(2)).mean(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
        return x.mul(variance.add(Tensors.scalar(eps)).rsqrt()).mul(weight);
    }

    /**
     * Softmax attention for this layer as this machine runs it best: float32 for float32
     * matmuls; for bf16 matmuls the path {@link dev.lolcats4j.cpu.Capabilities#softmaxPath}
     * measured fastest (see {@link SoftmaxAttention}).
     */
    public SoftmaxAttention softmaxAttention() {
        // bf16 matmuls do not make bf16 attention fast: libtorch's bf16 flash kernel ran 17-28x
        // slower than float32 on CPUs without AMX (the probe decides, see DtypeRule).
        return switch (dev.lolcats4j.cpu.Capabilities.softmaxPath(Tensors.same(q.matmulScalarType(), Tensors.BF16))) {
            case F32_SDPA -> softmaxAttention(Tensors.F32);
            case BF16_SDPA -> softmaxAttention(Tensors.BF16);
            case BF16_BLOCKED -> new SoftmaxAttention(config.groupSize(), Tensors.F32, slidingWindow, true);
        };
    }

    /** This layer's softmax attention (its sliding window included) computed in {@code computeType}. */
    public SoftmaxAttention softmaxAttention(org.bytedeco.pytorch.global.torch.ScalarType computeType) {
        return new SoftmaxAttention(config.groupSize(), computeType, slidingWindow);
    }

    /** The softmax window of this layer from config.json, or 0 for full attention. */
    public int slidingWindow() {
        return slidingWindow;
    }

    public Attention attention() {
        return attention;
    }

    public void setAttention(Attention attention) {
        this.attention = attention;
    }

    public Projection projection(String name) {
        return switch (name) {
            case "q_proj" -> q;
            case "k_proj" -> k;
            case "v_proj" -> v;
            case "o_proj" -> o;
            case "gate_proj" -> gate;
            case "up_proj" -> up;
            case "down_proj" -> down;
            default -> throw new IllegalArgumentException("unknown projection " + name);
        };
    }
}
