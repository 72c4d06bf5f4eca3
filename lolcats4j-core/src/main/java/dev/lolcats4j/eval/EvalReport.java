package dev.lolcats4j.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Results of one or more runs over the same tasks, labelled "model", or "base", "linearized"
 * and "untrained". With a base and a linearized run it has a side-by-side comparison; with an
 * untrained run too, each row also has the share of the gap closed:
 * (untrained - linearized) / (untrained - base), for any metric (1 = as good as the base, 0 =
 * no better than swapping attention without training).
 */
public record EvalReport(Path model, Path adapter, Map<String, List<TaskResult>> runs) {

    public EvalReport {
        runs = Collections.unmodifiableMap(new LinkedHashMap<>(runs));
    }

    /** One row of the side-by-side table; untrained and gapClosed are NaN when not available. */
    public record Row(String task, String metric, double base, double linearized, double untrained, double gapClosed) {}

    public boolean isComparison() {
        return runs.containsKey(EvalRunner.BASE) && runs.containsKey(EvalRunner.LINEARIZED);
    }

    /** (untrained - linearized) / (untrained - base); NaN when base equals untrained. */
    public static double gapClosed(double base, double linearized, double untrained) {
        double gap = untrained - base;
        return gap == 0 || Double.isNaN(gap) ? Double.NaN : (untrained - linearized) / gap;
    }

    public List<Row> comparison() {
        List<Row> rows = new ArrayList<>();
        if (!isComparison()) {
            return rows;
        }
        List<TaskResult> base = runs.get(EvalRunner.BASE);
        List<TaskResult> lin = runs.get(EvalRunner.LINEARIZED);
        List<TaskResult> untrained = runs.get(EvalRunner.UNTRAINED);
        for (int i = 0; i < base.size(); i++) {
            for (Map.Entry<String, Double> m : base.get(i).metrics().entrySet()) {
                double b = m.getValue();
                double l = lin.get(i).metrics().getOrDefault(m.getKey(), Double.NaN);
                double u = untrained == null ? Double.NaN : untrained.get(i).metrics().getOrDefault(m.getKey(), Double.NaN);
                rows.add(new Row(base.get(i).task(), m.getKey(), b, l, u, untrained == null ? Double.NaN : gapClosed(b, l, u)));
            }
        }
        return rows;
    }

    /** A markdown table: one value column per run, plus "gap closed" when there is an untrained run. */
    public String toMarkdown() {
        StringBuilder sb = new StringBuilder();
        if (isComparison()) {
            boolean withUntrained = runs.containsKey(EvalRunner.UNTRAINED);
            sb.append("| task | metric | base | linearized |");
            sb.append(withUntrained ? " untrained | gap closed |\n" : "\n");
            sb.append("|---|---|---:|---:|").append(withUntrained ? "---:|---:|\n" : "\n");
            for (Row r : comparison()) {
                sb.append("| ").append(r.task()).append(" | ").append(r.metric()).append(arrow(r.metric())).append(" | ")
                        .append(format(r.base())).append(" | ").append(format(r.linearized())).append(" |");
                if (withUntrained) {
                    sb.append(' ').append(format(r.untrained())).append(" | ")
                            .append(Double.isNaN(r.gapClosed()) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * r.gapClosed()))
                            .append(" |");
                }
                sb.append('\n');
            }
            return sb.toString();
        }
        List<String> labels = new ArrayList<>(runs.keySet());
        sb.append("| task | metric |");
        labels.forEach(l -> sb.append(' ').append(l).append(" |"));
        sb.append("\n|---|---|").append("---:|".repeat(labels.size())).append('\n');
        List<TaskResult> first = runs.get(labels.get(0));
        for (int i = 0; i < first.size(); i++) {
            for (String metric : first.get(i).metrics().keySet()) {
                sb.append("| ").append(first.get(i).task()).append(" | ").append(metric).append(arrow(metric)).append(" |");
                for (String l : labels) {
                    sb.append(' ').append(format(runs.get(l).get(i).metrics().getOrDefault(metric, Double.NaN))).append(" |");
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    private static String arrow(String metric) {
        return TaskResult.lowerIsBetter(metric) ? " ↓" : " ↑";
    }

    private static String format(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.2f" : "%.4f", v);
    }

    /**
     * JSON: {"model", "adapter", "runs": {label: [{"task", "kind", "source", "metrics": {...},
     * "counts": {...}}]}, "comparison": [{"task", "metric", "base", "linearized", "untrained",
     * "gap_closed"}]} (comparison only for --compare; NaN is written as null).
     */
    public String toJson() {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("model", model == null ? null : model.toString());
        root.put("adapter", adapter == null ? null : adapter.toString());
        ObjectNode runsNode = root.putObject("runs");
        runs.forEach((label, results) -> {
            ArrayNode array = runsNode.putArray(label);
            for (TaskResult r : results) {
                ObjectNode n = array.addObject();
                n.put("task", r.task());
                n.put("kind", r.kind());
                n.put("source", r.source() == null ? null : r.source().toString());
                ObjectNode metrics = n.putObject("metrics");
                r.metrics().forEach((k, v) -> number(metrics, k, v));
                ObjectNode counts = n.putObject("counts");
                r.counts().forEach(counts::put);
            }
        });
        if (isComparison()) {
            ArrayNode array = root.putArray("comparison");
            for (Row r : comparison()) {
                ObjectNode n = array.addObject();
                n.put("task", r.task());
                n.put("metric", r.metric());
                n.put("lower_is_better", TaskResult.lowerIsBetter(r.metric()));
                number(n, "base", r.base());
                number(n, "linearized", r.linearized());
                number(n, "untrained", r.untrained());
                number(n, "gap_closed", r.gapClosed());
            }
        }
        try {
            return json.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void number(ObjectNode n, String key, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            n.putNull(key);
        } else {
            n.put(key, v);
        }
    }
}
