package dev.lolcats4j.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Greedy, temperature and top-p sampling over one row of float32 logits. */
public final class Sampler {

    private final SamplingConfig config;
    private final SplittableRandom random;

    public Sampler(SamplingConfig config) {
        this.config = config;
        this.random = new SplittableRandom(config.seed());
    }

    public int next(float[] logits) {
        if (config.temperature() <= 0) {
            return argmax(logits);
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] probs = new double[logits.length];
        double total = 0;
        for (int i = 0; i < logits.length; i++) {
            probs[i] = Math.exp((logits[i] - max) / config.temperature());
            total += probs[i];
        }
        Integer[] order = null;
        double threshold = config.topP() * total;
        if (config.topP() < 1) {
            order = new Integer[logits.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            double[] p = probs;
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            double kept = 0;
            int cut = 0;
            while (cut < order.length && kept < threshold) {
                kept += probs[order[cut++]];
            }
            double u = random.nextDouble() * kept;
            for (int i = 0; i < cut; i++) {
                u -= probs[order[i]];
                if (u <= 0) {
                    return order[i];
                }
            }
            return order[cut - 1];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < probs.length; i++) {
            u -= probs[i];
            if (u <= 0) {
                return i;
            }
        }
        return argmax(logits);
    }

    /** Index of the largest value; the lowest index wins ties. */
    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
