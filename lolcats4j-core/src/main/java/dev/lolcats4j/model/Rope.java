package dev.lolcats4j.model;

import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Rotary position embedding in the Hugging Face "rotate_half" convention, with optional
 * llama3 or linear frequency scaling. Angles are computed in float64 so that long positions
 * keep their precision; cos and sin are then cast to float32.
 */
public final class Rope {

    private final double[] inverseFrequencies;

    public Rope(ModelConfig config) {
        this.inverseFrequencies = inverseFrequencies(config.headDim(), config.ropeTheta(), config.ropeScaling());
    }

    /** The per-pair inverse frequencies, scaled as the config says. */
    static double[] inverseFrequencies(int headDim, double theta, RopeScaling scaling) {
        int half = headDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            // HF computes base ** (arange(0, d, 2) / d) in float32 for the exponent; the
            // float64 reference does it exactly, which is what we match.
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        }
        if (scaling == null) {
            return inv;
        }
        if (scaling.type().equals("linear")) {
            for (int i = 0; i < half; i++) {
                inv[i] /= scaling.factor();
            }
            return inv;
        }
        double factor = scaling.factor();
        double oldContext = scaling.originalMaxPositionEmbeddings();
        double lowWavelen = oldContext / scaling.lowFreqFactor();
        double highWavelen = oldContext / scaling.highFreqFactor();
        for (int i = 0; i < half; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen < highWavelen) {
                continue; // high frequency: unchanged
            }
            if (wavelen > lowWavelen) {
                inv[i] /= factor; // low frequency: fully scaled
            } else {
                double smooth = (oldContext / wavelen - scaling.lowFreqFactor())
                        / (scaling.highFreqFactor() - scaling.lowFreqFactor());
                inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
            }
        }
        return inv;
    }

    /**
     * cos and sin for the given positions.
     *
     * @param positions [B, N] int64
     * @return {cos, sin}, each [B, 1, N, d] float32
     */
    public Tensor[] cosSin(Tensor positions) {
        Tensor inverse = Tensors.ofDoubles(inverseFrequencies, inverseFrequencies.length);
        Tensor angles = positions.to(Tensors.F64).unsqueeze(-1).mul(inverse); // [B, N, d/2]
        Tensor emb = Tensors.cat(-1, angles, angles).unsqueeze(1); // [B, 1, N, d]
        return new Tensor[] {emb.cos().to(Tensors.F32), emb.sin().to(Tensors.F32)};
    }

    /**
     * cos and sin of one position's angles, as {@link #cosSin} computes them (float64 angles,
     * then float32); {@code d/2} values each, written at {@code offset} (the second half of a
     * head repeats the first).
     */
    public void cosSin(long position, float[] cos, float[] sin, int offset) {
        for (int i = 0; i < inverseFrequencies.length; i++) {
            double angle = position * inverseFrequencies[i];
            cos[offset + i] = (float) Math.cos(angle);
            sin[offset + i] = (float) Math.sin(angle);
        }
    }

    /**
     * {@link #apply} in place on float arrays: {@code heads} heads of size d at
     * {@code offset}, with the half-size tables of {@link #cosSin(long, float[], float[], int)}.
     */
    public static void apply(float[] x, int offset, int heads, int d, float[] cos, float[] sin, int tableOffset) {
        int half = d / 2;
        for (int h = 0; h < heads; h++) {
            int base = offset + h * d;
            for (int i = 0; i < half; i++) {
                float c = cos[tableOffset + i];
                float s = sin[tableOffset + i];
                float x1 = x[base + i];
                float x2 = x[base + half + i];
                x[base + i] = x1 * c - x2 * s;
                x[base + half + i] = x2 * c + x1 * s;
            }
        }
    }

    /** x * cos + rotate_half(x) * sin, with x [B, H, N, d] float32. */
    public static Tensor apply(Tensor x, Tensor cos, Tensor sin) {
        long half = x.size(-1) / 2;
        Tensor x1 = x.narrow(-1, 0, half);
        Tensor x2 = x.narrow(-1, half, half);
        Tensor rotated = Tensors.cat(-1, x2.neg(), x1);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
