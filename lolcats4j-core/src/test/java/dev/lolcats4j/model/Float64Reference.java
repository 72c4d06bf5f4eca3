package dev.lolcats4j.model;

import dev.lolcats4j.io.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A Llama-family decoder written out in plain double loops, independent of the model code
 * under test (it shares only the safetensors reader): embeddings, RMSNorm, RoPE (rotate-half,
 * theta^(-2i/d)), grouped-query causal softmax attention with an optional per-layer sliding
 * window (key > query - W, as Hugging Face masks it), SwiGLU, final norm and LM head.
 */
final class Float64Reference {

    /** The architecture the reference needs; {@code windows[l]} is layer l's W or 0. */
    record Shape(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim, double eps,
            double theta, boolean tied, boolean qkvBias, int[] windows) {}

    private final Shape shape;
    private final Map<String, double[]> w = new HashMap<>();

    Float64Reference(Path modelDir, Shape shape) {
        this.shape = shape;
        try (Stream<Path> files = Files.list(modelDir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                try (SafetensorsFile file = SafetensorsFile.open(f)) {
                    for (String name : file.tensors().keySet()) {
                        float[] values = file.get(name).toFloatArray();
                        double[] d = new double[values.length];
                        for (int i = 0; i < d.length; i++) {
                            d[i] = values[i];
                        }
                        w.put(name, d);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** logprobs[t] = log p(ids[t + 1] | ids[0..t]). */
    double[] logprobs(int[] ids) {
        double[][] logits = logits(ids);
        double[] out = new double[ids.length - 1];
        for (int t = 0; t + 1 < ids.length; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (double z : logits[t]) {
                max = Math.max(max, z);
            }
            double sum = 0;
            for (double z : logits[t]) {
                sum += Math.exp(z - max);
            }
            out[t] = logits[t][ids[t + 1]] - max - Math.log(sum);
        }
        return out;
    }

    /** The most likely next token after each position. */
    int[] argmax(int[] ids) {
        double[][] logits = logits(ids);
        int[] out = new int[ids.length];
        for (int t = 0; t < ids.length; t++) {
            int best = 0;
            for (int v = 1; v < logits[t].length; v++) {
                if (logits[t][v] > logits[t][best]) {
                    best = v;
                }
            }
            out[t] = best;
        }
        return out;
    }

    double[][] logits(int[] ids) {
        Shape s = shape;
        int n = ids.length;
        int dModel = s.hidden();
        double[][] x = new double[n][];
        double[] embed = w.get("model.embed_tokens.weight");
        for (int t = 0; t < n; t++) {
            x[t] = java.util.Arrays.copyOfRange(embed, ids[t] * dModel, (ids[t] + 1) * dModel);
        }
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] h = rmsNorm(x[t], w.get(p + "input_layernorm.weight"));
                q[t] = linear(p + "self_attn.q_proj", h, s.heads() * s.headDim(), s.qkvBias());
                k[t] = linear(p + "self_attn.k_proj", h, s.kvHeads() * s.headDim(), s.qkvBias());
                v[t] = linear(p + "self_attn.v_proj", h, s.kvHeads() * s.headDim(), s.qkvBias());
                rope(q[t], s.heads(), t);
                rope(k[t], s.kvHeads(), t);
            }
            int window = s.windows()[l];
            int group = s.heads() / s.kvHeads();
            int d = s.headDim();
            for (int t = 0; t < n; t++) {
                double[] heads = new double[s.heads() * d];
                int first = window > 0 ? Math.max(0, t - window + 1) : 0;
                for (int head = 0; head < s.heads(); head++) {
                    int kvHead = head / group;
                    double[] scores = new double[t + 1 - first];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = first; j <= t; j++) {
                        double dot = 0;
                        for (int i = 0; i < d; i++) {
                            dot += q[t][head * d + i] * k[j][kvHead * d + i];
                        }
                        scores[j - first] = dot / Math.sqrt(d);
                        max = Math.max(max, scores[j - first]);
                    }
                    double sum = 0;
                    for (int j = 0; j < scores.length; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        sum += scores[j];
                    }
                    for (int j = first; j <= t; j++) {
                        double weight = scores[j - first] / sum;
                        for (int i = 0; i < d; i++) {
                            heads[head * d + i] += weight * v[j][kvHead * d + i];
                        }
                    }
                }
                add(x[t], linear(p + "self_attn.o_proj", heads, dModel, false));
            }
            for (int t = 0; t < n; t++) {
                double[] h = rmsNorm(x[t], w.get(p + "post_attention_layernorm.weight"));
                double[] gate = linear(p + "mlp.gate_proj", h, s.intermediate(), false);
                double[] up = linear(p + "mlp.up_proj", h, s.intermediate(), false);
                for (int i = 0; i < gate.length; i++) {
                    gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                add(x[t], linear(p + "mlp.down_proj", gate, dModel, false));
            }
        }
        double[][] logits = new double[n][];
        String head = s.tied() ? "model.embed_tokens" : "lm_head";
        for (int t = 0; t < n; t++) {
            logits[t] = linear(head, rmsNorm(x[t], w.get("model.norm.weight")), s.vocab(), false);
        }
        return logits;
    }

    private double[] rmsNorm(double[] x, double[] weight) {
        double mean = 0;
        for (double value : x) {
            mean += value * value;
        }
        mean /= x.length;
        double inverse = 1 / Math.sqrt(mean + shape.eps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inverse * weight[i];
        }
        return out;
    }

    /** y = W x (+ b), W stored [out, in] as Hugging Face's Linear. */
    private double[] linear(String prefix, double[] x, int out, boolean bias) {
        double[] weight = w.get(prefix + ".weight");
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double sum = 0;
            for (int i = 0; i < x.length; i++) {
                sum += weight[o * x.length + i] * x[i];
            }
            y[o] = sum + (bias ? w.get(prefix + ".bias")[o] : 0);
        }
        return y;
    }

    /** Rotate-half RoPE at position {@code pos}, in place, every head. */
    private void rope(double[] x, int heads, int pos) {
        int d = shape.headDim();
        int half = d / 2;
        for (int head = 0; head < heads; head++) {
            for (int i = 0; i < half; i++) {
                double angle = pos / Math.pow(shape.theta(), 2.0 * i / d);
                double a = x[head * d + i];
                double b = x[head * d + i + half];
                x[head * d + i] = a * Math.cos(angle) - b * Math.sin(angle);
                x[head * d + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
            }
        }
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
