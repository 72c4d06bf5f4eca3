package dev.lolcats4j.cli;

import dev.lolcats4j.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A small PNG line chart for the demo report: several named series over a shared x axis (log2
 * scale, as distances and contexts double), a linear y axis from {@code yMin} to {@code yMax}
 * (or fitted to the data when NaN), a legend, and an optional vertical marker line (the
 * sliding window). Points with a NaN y are skipped.
 */
final class LineChart {

    /** One line: its label and points. */
    record Series(String label, double[] x, double[] y) {}

    private static final Color[] COLORS = {new Color(30, 90, 200), new Color(210, 40, 40), new Color(40, 150, 60),
        new Color(150, 80, 180), new Color(230, 140, 20), new Color(90, 90, 90)};
    private static final int WIDTH = 800;
    private static final int HEIGHT = 480;
    private static final Font LABEL_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    /** The legend's line sample and the gaps around its text, left of the label. */
    private static final int LEGEND_LEAD = 46;

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series = new ArrayList<>();
    private double yMin = Double.NaN;
    private double yMax = Double.NaN;
    private double marker = Double.NaN;
    private String markerLabel = "";

    LineChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    LineChart add(String label, double[] x, double[] y) {
        series.add(new Series(label, x.clone(), y.clone()));
        return this;
    }

    LineChart yRange(double min, double max) {
        yMin = min;
        yMax = max;
        return this;
    }

    LineChart marker(double x, String label) {
        marker = x;
        markerLabel = label;
        return this;
    }

    void write(Path png) {
        double xLo = Double.POSITIVE_INFINITY;
        double xHi = Double.NEGATIVE_INFINITY;
        double yLo = Double.POSITIVE_INFINITY;
        double yHi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                if (s.x()[i] > 0 && Double.isFinite(s.y()[i])) {
                    xLo = Math.min(xLo, log2(s.x()[i]));
                    xHi = Math.max(xHi, log2(s.x()[i]));
                    yLo = Math.min(yLo, s.y()[i]);
                    yHi = Math.max(yHi, s.y()[i]);
                }
            }
        }
        if (!Double.isFinite(xLo)) {
            xLo = 0;
            xHi = 1;
            yLo = 0;
            yHi = 1;
        }
        if (!Double.isNaN(yMin)) {
            yLo = yMin;
            yHi = yMax;
        } else {
            double pad = Math.max(1e-9, (yHi - yLo) * 0.08);
            yLo -= pad;
            yHi += pad;
        }
        if (xHi - xLo < 1e-9) {
            xHi = xLo + 1;
        }
        int left = 80;
        // Wide enough for the longest legend label: a fixed margin cut "... sparse cache C = 256" short.
        int right = Math.max(200, LEGEND_LEAD + legendTextWidth() + 10);
        int top = 50;
        int bottom = 60;
        int plotW = WIDTH - left - right;
        int plotH = HEIGHT - top - bottom;
        double fxLo = xLo;
        double fxHi = xHi;
        double fyLo = yLo;
        double fyHi = yHi;
        java.util.function.DoubleUnaryOperator px = v -> left + plotW * (log2(v) - fxLo) / (fxHi - fxLo);
        java.util.function.DoubleUnaryOperator py = v -> top + plotH * (1 - (v - fyLo) / (fyHi - fyLo));

        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.setColor(Color.BLACK);
        g.drawString(title, left, 28);
        g.setFont(LABEL_FONT);
        g.drawRect(left, top, plotW, plotH);
        // y ticks: 5 intervals
        for (int i = 0; i <= 5; i++) {
            double v = yLo + (yHi - yLo) * i / 5;
            int y = (int) py.applyAsDouble(v);
            g.setColor(new Color(230, 230, 230));
            g.drawLine(left + 1, y, left + plotW - 1, y);
            g.setColor(Color.BLACK);
            g.drawString(tick(v), left - 8 - g.getFontMetrics().stringWidth(tick(v)), y + 4);
        }
        // x ticks at the data's x values (they are few)
        java.util.TreeSet<Double> xs = new java.util.TreeSet<>();
        for (Series s : series) {
            for (double v : s.x()) {
                if (v > 0) {
                    xs.add(v);
                }
            }
        }
        for (double v : xs) {
            int x = (int) px.applyAsDouble(v);
            g.drawLine(x, top + plotH, x, top + plotH + 4);
            String label = tick(v);
            g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, top + plotH + 18);
        }
        g.drawString(xLabel + " (log scale)", left + plotW / 2 - 60, HEIGHT - 15);
        java.awt.geom.AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        g.drawString(yLabel, -(top + plotH / 2 + 60), 20);
        g.setTransform(saved);
        if (!Double.isNaN(marker) && marker > 0) {
            int x = (int) px.applyAsDouble(marker);
            if (x >= left && x <= left + plotW) {
                g.setColor(new Color(120, 120, 120));
                g.setStroke(new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
                g.drawLine(x, top, x, top + plotH);
                g.drawString(markerLabel, x + 4, top + 14);
            }
        }
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            g.setColor(COLORS[k % COLORS.length]);
            g.setStroke(new BasicStroke(2f));
            int prevX = -1;
            int prevY = -1;
            for (int i = 0; i < s.x().length; i++) {
                if (!(s.x()[i] > 0) || !Double.isFinite(s.y()[i])) {
                    prevX = -1;
                    continue;
                }
                int x = (int) px.applyAsDouble(s.x()[i]);
                int y = (int) py.applyAsDouble(s.y()[i]);
                g.fillOval(x - 4, y - 4, 8, 8);
                if (prevX >= 0) {
                    g.drawLine(prevX, prevY, x, y);
                }
                prevX = x;
                prevY = y;
            }
            int ly = top + 20 + 22 * k;
            g.drawLine(left + plotW + 15, ly - 4, left + plotW + 40, ly - 4);
            g.setColor(Color.BLACK);
            g.drawString(s.label(), left + plotW + LEGEND_LEAD, ly);
        }
        g.dispose();
        AtomicFiles.write(png, stream -> ImageIO.write(image, "png", stream));
    }

    private int legendTextWidth() {
        Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
        try {
            java.awt.FontMetrics metrics = g.getFontMetrics(LABEL_FONT);
            return series.stream().mapToInt(s -> metrics.stringWidth(s.label())).max().orElse(0);
        } finally {
            g.dispose();
        }
    }

    private static double log2(double v) {
        return Math.log(v) / Math.log(2);
    }

    private static String tick(double v) {
        if (Math.abs(v) >= 1e6) {
            return String.format(Locale.ROOT, "%.0fM", v / 1e6);
        }
        if (Math.abs(v) >= 1e4) {
            return String.format(Locale.ROOT, "%.0fk", v / 1e3);
        }
        if (v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
