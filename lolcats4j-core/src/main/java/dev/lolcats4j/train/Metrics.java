package dev.lolcats4j.train;

import dev.lolcats4j.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** metrics.csv (step, train_loss, eval_loss, learning_rate, tokens_per_second) and a loss plot. */
public final class Metrics {

    private static final String HEADER = "step,train_loss,eval_loss,learning_rate,tokens_per_second";

    private final Path file;
    private final List<String> rows = new ArrayList<>();

    Metrics(Path file) {
        this.file = file;
    }

    void start() {
        rows.clear();
        flush();
    }

    void append(int step, double trainLoss, double evalLoss, double learningRate, double tokensPerSecond) {
        rows.add(String.format(Locale.ROOT, "%d,%.6f,%s,%.3e,%.1f", step, trainLoss,
                Double.isNaN(evalLoss) ? "" : String.format(Locale.ROOT, "%.6f", evalLoss), learningRate, tokensPerSecond));
    }

    void flush() {
        AtomicFiles.writeString(file, HEADER + "\n" + String.join("\n", rows) + (rows.isEmpty() ? "" : "\n"));
    }

    /** On resume: keep the rows up to {@code step} from the file on disk. */
    void truncateAfter(int step) {
        rows.clear();
        if (!Files.isRegularFile(file)) {
            return;
        }
        try {
            for (String line : Files.readAllLines(file)) {
                if (!line.isBlank() && !line.startsWith("step") && Integer.parseInt(line.split(",")[0]) <= step) {
                    rows.add(line);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Train loss (line) and held-out loss (dots) against step, log-scaled loss axis. */
    void plot(Path png) {
        flush();
        List<double[]> train = new ArrayList<>();
        List<double[]> eval = new ArrayList<>();
        for (String row : rows) {
            String[] f = row.split(",", -1);
            train.add(new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[1])});
            if (!f[2].isEmpty()) {
                eval.add(new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[2])});
            }
        }
        plotLog(png, "step", "loss (log scale): train = blue line, held-out = red dots", train, eval);
    }

    /**
     * A PNG of two series of (x, y) points against a log-scaled y axis: {@code line} drawn as a
     * blue line, {@code dots} as red dots. Written atomically.
     */
    public static void plotLog(Path png, String xLabel, String title, List<double[]> train, List<double[]> eval) {
        int width = 800;
        int height = 480;
        int margin = 60;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        double maxStep = Math.max(1, train.stream().mapToDouble(p -> p[0]).max().orElse(1));
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (List<double[]> series : List.of(train, eval)) {
            for (double[] p : series) {
                if (p[1] > 0) {
                    lo = Math.min(lo, Math.log10(p[1]));
                    hi = Math.max(hi, Math.log10(p[1]));
                }
            }
        }
        if (!Double.isFinite(lo)) {
            lo = 0;
            hi = 1;
        }
        if (hi - lo < 1e-9) {
            hi = lo + 1;
        }
        g.setColor(Color.BLACK);
        g.drawRect(margin, margin / 2, width - margin * 3 / 2, height - margin * 3 / 2);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString(xLabel + " (max " + (long) maxStep + ")", width / 2 - 40, height - 15);
        g.drawString(String.format(Locale.ROOT, "%.3g", Math.pow(10, hi)), 5, margin / 2 + 10);
        g.drawString(String.format(Locale.ROOT, "%.3g", Math.pow(10, lo)), 5, height - margin);
        g.drawString(title, margin + 10, margin / 2 - 8);
        double fLo = lo;
        double fHi = hi;
        java.util.function.ToIntFunction<double[]> x = p -> margin + (int) ((width - margin * 3 / 2) * p[0] / maxStep);
        java.util.function.ToIntFunction<double[]> y = p -> margin / 2
                + (int) ((height - margin * 3 / 2) * (1 - (Math.log10(Math.max(p[1], 1e-12)) - fLo) / (fHi - fLo)));
        g.setColor(new Color(30, 90, 200));
        g.setStroke(new BasicStroke(1.5f));
        for (int i = 1; i < train.size(); i++) {
            g.drawLine(x.applyAsInt(train.get(i - 1)), y.applyAsInt(train.get(i - 1)), x.applyAsInt(train.get(i)), y.applyAsInt(train.get(i)));
        }
        g.setColor(new Color(210, 40, 40));
        for (double[] p : eval) {
            g.fillOval(x.applyAsInt(p) - 4, y.applyAsInt(p) - 4, 8, 8);
        }
        g.dispose();
        AtomicFiles.write(png, stream -> ImageIO.write(image, "png", stream));
    }
}
