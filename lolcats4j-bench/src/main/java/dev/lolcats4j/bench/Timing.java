package dev.lolcats4j.bench;

import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;

/** Warm-up then timed iterations, each inside its own {@link PointerScope}. */
final class Timing {

    private Timing() {}

    /** Milliseconds of each timed iteration. */
    static double[] run(int warmup, int iterations, Runnable body) {
        for (int i = 0; i < warmup; i++) {
            try (PointerScope scope = new PointerScope()) {
                body.run();
            }
        }
        double[] ms = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            try (PointerScope scope = new PointerScope()) {
                long start = System.nanoTime();
                body.run();
                ms[i] = (System.nanoTime() - start) / 1e6;
            }
        }
        return ms;
    }

    static double medianMs(int warmup, int iterations, Runnable body) {
        return median(run(warmup, iterations, body));
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static double mean(double[] values) {
        return Arrays.stream(values).average().orElse(Double.NaN);
    }

    static void progress(String format, Object... args) {
        System.err.printf(format + "%n", args);
        System.err.flush();
    }

    static double round(double value, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(value * scale) / scale;
    }
}
