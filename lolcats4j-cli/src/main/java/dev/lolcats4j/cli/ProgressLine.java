package dev.lolcats4j.cli;

import dev.lolcats4j.train.TrainListener;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * One progress line per training step on stderr: step, loss, held-out loss, learning rate,
 * tokens/s and ETA. On a terminal it redraws in place; otherwise it prints every tenth step.
 */
final class ProgressLine implements TrainListener {

    private final PrintWriter err;
    private final String label;
    private final boolean terminal = System.console() != null;
    private final java.util.function.LongSupplier clock;
    private final long started;
    private double lastEval = Double.NaN;
    /** The step before the first one this process ran (non-zero after --resume). */
    private int stepsBefore = -1;

    ProgressLine(PrintWriter err, String label) {
        this(err, label, System::nanoTime);
    }

    /** With a nanosecond clock (tests). */
    ProgressLine(PrintWriter err, String label, java.util.function.LongSupplier clock) {
        this.err = err;
        this.label = label;
        this.clock = clock;
        this.started = clock.getAsLong();
    }

    @Override
    public void onStep(int step, int maxSteps, double trainLoss, double evalLoss, double learningRate, double tokensPerSecond) {
        if (!Double.isNaN(evalLoss)) {
            lastEval = evalLoss;
        }
        if (stepsBefore < 0) {
            stepsBefore = step - 1;
        }
        // The rate of this process's steps: a resumed run did not spend its elapsed time on the
        // steps it resumed from.
        double elapsed = (clock.getAsLong() - started) / 1e9;
        double eta = elapsed / Math.max(1, step - stepsBefore) * (maxSteps - step);
        String line = String.format(Locale.ROOT, "[%s] step %d/%d  loss %.4f  held-out %s  lr %.2e  %,.0f tok/s  ETA %s",
                label, step, maxSteps, trainLoss, Double.isNaN(lastEval) ? "-" : String.format(Locale.ROOT, "%.4f", lastEval),
                learningRate, tokensPerSecond, duration(eta));
        if (terminal) {
            err.print("\r" + line + (step == maxSteps ? "\n" : ""));
        } else if (step % 10 == 0 || step == maxSteps || !Double.isNaN(evalLoss)) {
            err.println(line);
        }
        err.flush();
    }

    @Override
    public void onMessage(String message) {
        err.println((terminal ? "\n" : "") + "[" + label + "] " + message);
        err.flush();
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
