package dev.lolcats4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.bench.DecodeBench;
import dev.lolcats4j.data.RecallText;
import dev.lolcats4j.eval.EvalReport;
import dev.lolcats4j.eval.EvalRunner;
import dev.lolcats4j.eval.RecallProbes;
import dev.lolcats4j.eval.TaskResult;
import dev.lolcats4j.generate.Generator;
import dev.lolcats4j.generate.SamplingConfig;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.Models;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The demo's report folder: report.md (tables, samples, what the numbers mean), summary.json
 * (the same numbers for scripts), and PNG plots of recall accuracy by distance and of decode
 * cost at growing context. Filled by {@link DemoCommand} step by step, written at once.
 */
final class DemoReport {

    /** Pairs of the sparse cache in the demo's fourth model (an eighth of the small teacher's 512 positions). */
    static final int SPARSE_PAIRS = 64;
    /** Run label of the linearized model with a sparse cache of {@link #SPARSE_PAIRS} pairs. */
    static final String SPARSE = "linearized+sparse";

    /**
     * The models of the comparison, in report order: key in summary.json, run label in
     * EvalReport, name in tables and plots.
     */
    static final String[][] MODELS = {{"teacher", EvalRunner.BASE, "teacher (softmax)"},
        {"linearized", EvalRunner.LINEARIZED, "linearized (LoLCATs)"},
        {"linearized_sparse", SPARSE, "linearized + sparse cache C = " + SPARSE_PAIRS},
        {"swapped", EvalRunner.UNTRAINED, "untrained swap"}};
    static final int WINDOW = 64;
    /** Context at which the sparse-cache sweep's state is measured (the recall teacher's whole context). */
    static final int SWEEP_CONTEXT = 1024;
    /** Below this teacher lead over plain LoLCATs (beyond W) a recovered share means nothing. */
    static final double MIN_LEAD = 0.05;
    static final int[] DECODE_CONTEXTS = {256, 1024, 4096, 16384};
    static final String PROMPT = "Call me Ishmael. ";

    private final DemoCommand.Profile profile;
    private final Path teacher;
    private final Path adapter;
    private final EvalReport text;
    private final EvalReport recall;
    private final int stage1Steps;
    private final int stage2Steps;
    private final double linearizeSeconds;
    private final Map<String, String> samples = new LinkedHashMap<>();
    private final Map<String, String> passkeyAnswers = new LinkedHashMap<>();
    private String passkeyExpected = "";
    private int passkeyDistance;
    private List<DecodeBench.Row> decode = List.of();
    /** Decode-cache bytes after a {@link #SWEEP_CONTEXT}-token prefill, by sparse cache size (0 = plain LoLCATs). */
    private final Map<Integer, Long> stateBytes = new TreeMap<>();
    double seconds;

    DemoReport(DemoCommand.Profile profile, Path teacher, Path adapter, EvalReport text, EvalReport recall, int stage1Steps,
            int stage2Steps, double linearizeSeconds) {
        this.profile = profile;
        this.teacher = teacher;
        this.adapter = adapter;
        this.text = text;
        this.recall = recall;
        this.stage1Steps = stage1Steps;
        this.stage2Steps = stage2Steps;
        this.linearizeSeconds = linearizeSeconds;
    }

    /** The sparse cache sizes the demo evaluates: {@link #SPARSE_PAIRS} and the profile's sweep, ascending. */
    static List<Integer> sweep(DemoCommand.Profile profile) {
        java.util.TreeSet<Integer> sizes = new java.util.TreeSet<>(profile.sparseSweep());
        sizes.add(SPARSE_PAIRS);
        return List.copyOf(sizes);
    }

    /** Run label of the linearized model with a sparse cache of {@code pairs} pairs. */
    static String sparseRun(int pairs) {
        return pairs == SPARSE_PAIRS ? SPARSE : SPARSE + pairs;
    }

    /** The models in report order (teacher, linearized, linearized + sparse cache, untrained swap seeded like eval's). */
    private List<DecoderModel> models(ComputeType type) {
        AdapterConfig config = AdapterConfigJson.read(adapter);
        DecoderModel swapped = ModelLoader.load(teacher, type);
        org.bytedeco.pytorch.global.torch.manual_seed(0);
        Adapters.convert(swapped, config);
        DecoderModel sparse = Models.open(teacher, adapter, type);
        Adapters.setSparseCache(sparse, SPARSE_PAIRS);
        return List.of(ModelLoader.load(teacher, type), Models.open(teacher, adapter, type), sparse, swapped);
    }

    /** A sampled continuation of {@link #PROMPT} and a greedy answer to one held-out passkey question per model. */
    void generateSamples(Path heldOut) {
        try (Tokenizer tok = Tokenizers.forModel(teacher).orElseThrow()) {
            String corpus = Files.readString(heldOut, StandardCharsets.UTF_8);
            passkeyDistance = 512;
            RecallProbes.Probe probe = RecallProbes.passkeyAtDistance(new RecallText(corpus), tok, passkeyDistance, 1024,
                    new SplittableRandom(99));
            int[] span = probe.answerSpans().get(0);
            int[] question = java.util.Arrays.copyOf(probe.ids(), span[0]);
            passkeyExpected = tok.decode(java.util.Arrays.copyOfRange(probe.ids(), span[0], span[1]));
            List<DecoderModel> models = models(ComputeType.F32);
            for (int i = 0; i < MODELS.length; i++) {
                Generator generator = new Generator(models.get(i));
                int[] ids = generator.generate(tok.encode(PROMPT), new SamplingConfig(0.7, 1.0, 1, 240), null);
                samples.put(MODELS[i][0], PROMPT + tok.decode(ids));
                int[] answer = generator.generate(question, SamplingConfig.greedy(span[1] - span[0]), null);
                passkeyAnswers.put(MODELS[i][0], tok.decode(answer));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(heldOut + ": " + e.getMessage(), e);
        }
    }

    /** Decode ms/token and cache bytes, teacher (KV cache) vs linearized (constant state), bf16. */
    void timeDecoding() {
        DecoderModel softmax = ModelLoader.load(teacher, ComputeType.BF16);
        DecoderModel linear = Models.open(teacher, adapter, ComputeType.BF16);
        decode = DecodeBench.compare(softmax, linear, DECODE_CONTEXTS, 24);
        stateBytes.put(0, DecodeBench.stateBytesAfterPrefill(linear, SWEEP_CONTEXT));
        for (int pairs : sweep(profile)) {
            DecoderModel sparse = Models.open(teacher, adapter, ComputeType.BF16);
            Adapters.setSparseCache(sparse, pairs);
            stateBytes.put(pairs, DecodeBench.stateBytesAfterPrefill(sparse, SWEEP_CONTEXT));
            sparse.close();
        }
        softmax.close();
        linear.close();
    }

    /** The teacher's KV cache bytes at {@code context} tokens, from the decode rows (-1 if not measured there). */
    long teacherKvBytes(int context) {
        return decode.stream().filter(r -> r.context() == context).mapToLong(DecodeBench.Row::softmaxCacheBytes).findFirst().orElse(-1);
    }

    /**
     * Share of the teacher's lead over plain LoLCATs beyond the window that the sparse cache of
     * {@code pairs} pairs brings back on one recall task (0 = passkey, 1 = mqar); NaN when the
     * teacher leads by less than {@link #MIN_LEAD} (nothing to recover).
     */
    double recovered(int pairs, int task) {
        double teacherAcc = metric(recall, EvalRunner.BASE, task, "acc_beyond");
        double linear = metric(recall, EvalRunner.LINEARIZED, task, "acc_beyond");
        double cached = metric(recall, sparseRun(pairs), task, "acc_beyond");
        return teacherAcc - linear < MIN_LEAD ? Double.NaN : (cached - linear) / (teacherAcc - linear);
    }

    // ---------------------------------------------------------------- numbers

    private double perplexity(String run) {
        return metric(text, run, 0, "token_perplexity");
    }

    private static double metric(EvalReport report, String run, int task, String name) {
        List<TaskResult> results = report.runs().get(run);
        return results == null || results.size() <= task ? Double.NaN : results.get(task).metrics().getOrDefault(name, Double.NaN);
    }

    /** Accuracy by distance of one recall task (0 = passkey, 1 = mqar) for one run. */
    private Map<Integer, Double> byDistance(String run, int task) {
        Map<Integer, Double> out = new TreeMap<>();
        List<TaskResult> results = recall.runs().get(run);
        if (results == null || results.size() <= task) {
            return out;
        }
        results.get(task).metrics().forEach((k, v) -> {
            if (k.startsWith("acc@d")) {
                out.put(Integer.parseInt(k.substring(5)), v);
            }
        });
        return out;
    }

    double gapClosed() {
        return EvalReport.gapClosed(perplexity(EvalRunner.BASE), perplexity(EvalRunner.LINEARIZED), perplexity(EvalRunner.UNTRAINED));
    }

    // ---------------------------------------------------------------- outputs

    /** The headline table: one row per model. */
    String markdownTable() {
        StringBuilder s = new StringBuilder();
        s.append("| model | held-out perplexity | cloze acc_norm | passkey inside / beyond W | MQAR inside / beyond W |\n");
        s.append("|---|---:|---:|---:|---:|\n");
        for (int i = 0; i < MODELS.length; i++) {
            String run = MODELS[i][1];
            s.append(String.format(Locale.ROOT, "| %s | %s | %s | %s / %s | %s / %s |%n", MODELS[i][2], number(perplexity(run)),
                    number(metric(text, run, 1, "acc_norm")), pct(metric(recall, run, 0, "acc_inside")), pct(metric(recall, run, 0, "acc_beyond")),
                    pct(metric(recall, run, 1, "acc_inside")), pct(metric(recall, run, 1, "acc_beyond"))));
        }
        s.append(String.format(Locale.ROOT, "%nShare of the perplexity gap closed (untrained swap -> teacher): %.1f%%%n", 100 * gapClosed()));
        return s.toString();
    }

    private static String number(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * v);
    }

    String samplesText() {
        StringBuilder s = new StringBuilder();
        for (Map.Entry<String, String> e : samples.entrySet()) {
            s.append("--- ").append(e.getKey()).append(" (temperature 0.7, seed 1):\n").append(e.getValue()).append("\n\n");
        }
        s.append(String.format(Locale.ROOT, "--- passkey %d tokens back, expected \"%s\": ", passkeyDistance, passkeyExpected));
        passkeyAnswers.forEach((k, v) -> s.append(k).append(" \"").append(v).append("\"  "));
        return s.toString().strip();
    }

    /** Writes the folder at once (a hidden sibling renamed into place), replacing an earlier report. */
    void write(Path dir) {
        OutputFolder.of("--out", dir).force(true).writeAtomically(tmp -> {
            recallPlot(0, "passkey").write(tmp.resolve("recall_passkey.png"));
            recallPlot(1, "MQAR (4 key-value pairs)").write(tmp.resolve("recall_mqar.png"));
            decodePlots(tmp);
            AtomicFiles.writeString(tmp.resolve("summary.json"), Json.write(summary()) + "\n");
            AtomicFiles.writeString(tmp.resolve("report.md"), markdown());
            return Main.EXIT_OK;
        });
    }

    private LineChart recallPlot(int task, String title) {
        LineChart chart = new LineChart("Recall accuracy by distance: " + title, "distance from the earlier copy (tokens)",
                "accuracy").yRange(0, 1).marker(WINDOW, "window W = " + WINDOW);
        for (int i = 0; i < MODELS.length; i++) {
            Map<Integer, Double> acc = byDistance(MODELS[i][1], task);
            chart.add(MODELS[i][2], acc.keySet().stream().mapToDouble(Integer::doubleValue).toArray(),
                    acc.values().stream().mapToDouble(Double::doubleValue).toArray());
        }
        for (int pairs : sweep(profile)) {
            Map<Integer, Double> acc = byDistance(sparseRun(pairs), task);
            if (pairs != SPARSE_PAIRS && !acc.isEmpty()) {
                chart.add("linearized + sparse cache C = " + pairs, acc.keySet().stream().mapToDouble(Integer::doubleValue).toArray(),
                        acc.values().stream().mapToDouble(Double::doubleValue).toArray());
            }
        }
        return chart;
    }

    private void decodePlots(Path dir) {
        double[] x = decode.stream().mapToDouble(DecodeBench.Row::context).toArray();
        new LineChart("Decode time per token (bf16, 2 cores, shared machine)", "context (tokens)", "ms per token")
                .add("teacher (KV cache)", x, decode.stream().mapToDouble(DecodeBench.Row::softmaxMsPerToken).toArray())
                .add("linearized (state)", x, decode.stream().mapToDouble(DecodeBench.Row::linearMsPerToken).toArray())
                .write(dir.resolve("decode_ms_per_token.png"));
        new LineChart("Attention memory while decoding", "context (tokens)", "MiB")
                .add("teacher KV cache", x, decode.stream().mapToDouble(r -> r.softmaxCacheBytes() / 1048576.0).toArray())
                .add("linearized state", x, decode.stream().mapToDouble(r -> r.linearStateBytes() / 1048576.0).toArray())
                .write(dir.resolve("decode_state_bytes.png"));
    }

    ObjectNode summary() {
        ObjectNode root = Json.object();
        root.put("teacher", profile.name());
        root.put("teacher_folder", teacher.toString());
        root.put("cpu", cpuName());
        root.put("teacher_ppl", perplexity(EvalRunner.BASE));
        root.put("swapped_ppl", perplexity(EvalRunner.UNTRAINED));
        root.put("linearized_ppl", perplexity(EvalRunner.LINEARIZED));
        root.put("gap_closed", gapClosed());
        root.put("sparse_cache_pairs", SPARSE_PAIRS);
        root.put("linearized_sparse_ppl", perplexity(SPARSE));
        root.put("window", WINDOW);
        ObjectNode recallNode = root.putObject("recall");
        ObjectNode inside = root.putObject("recall_inside_window");
        ObjectNode beyond = root.putObject("recall_beyond_window");
        ObjectNode cloze = root.putObject("cloze_acc_norm");
        for (String[] m : MODELS) {
            ObjectNode model = recallNode.putObject(m[0]);
            String[] tasks = {"passkey", "mqar"};
            for (int t = 0; t < tasks.length; t++) {
                ObjectNode task = model.putObject(tasks[t]);
                byDistance(m[1], t).forEach((d, acc) -> task.put(Integer.toString(d), acc));
            }
            cloze.put(m[0], metric(text, m[1], 1, "acc_norm"));
            inside.putObject(m[0]).put("passkey", metric(recall, m[1], 0, "acc_inside")).put("mqar", metric(recall, m[1], 1, "acc_inside"));
            beyond.putObject(m[0]).put("passkey", metric(recall, m[1], 0, "acc_beyond")).put("mqar", metric(recall, m[1], 1, "acc_beyond"));
        }
        ArrayNode rows = root.putArray("decode");
        for (DecodeBench.Row r : decode) {
            rows.addObject().put("context", r.context()).put("teacher_ms_per_token", r.softmaxMsPerToken())
                    .put("linearized_ms_per_token", r.linearMsPerToken()).put("teacher_kv_bytes", r.softmaxCacheBytes())
                    .put("linearized_state_bytes", r.linearStateBytes());
        }
        ArrayNode sweepRows = root.putArray("sparse_cache_sweep");
        double linearPpl = perplexity(EvalRunner.LINEARIZED);
        for (int pairs : sweep(profile)) {
            String run = sparseRun(pairs);
            ObjectNode row = sweepRows.addObject();
            row.put("pairs", pairs);
            row.put("ppl", perplexity(run));
            row.put("ppl_change", perplexity(run) / linearPpl - 1);
            row.put("context", SWEEP_CONTEXT);
            row.put("state_bytes", stateBytes.getOrDefault(pairs, -1L));
            row.put("linearized_state_bytes", stateBytes.getOrDefault(0, -1L));
            row.put("teacher_kv_bytes", teacherKvBytes(SWEEP_CONTEXT));
            String[] tasks = {"passkey", "mqar"};
            for (int t = 0; t < tasks.length; t++) {
                ObjectNode byDistance = row.putObject(tasks[t]);
                byDistance(run, t).forEach((d, acc) -> byDistance.put(Integer.toString(d), acc));
                row.put(tasks[t] + "_inside", metric(recall, run, t, "acc_inside"));
                row.put(tasks[t] + "_beyond", metric(recall, run, t, "acc_beyond"));
                row.put(tasks[t] + "_recovered_beyond", recovered(pairs, t));
            }
        }
        ObjectNode sampleNode = root.putObject("samples");
        samples.forEach(sampleNode::put);
        ObjectNode passkey = root.putObject("passkey_sample");
        passkey.put("distance", passkeyDistance);
        passkey.put("expected", passkeyExpected);
        passkeyAnswers.forEach(passkey::put);
        ObjectNode budget = root.putObject("budget");
        budget.put("stage1_steps", stage1Steps);
        budget.put("stage2_steps", stage2Steps);
        budget.put("seq_len", profile.seqLen());
        budget.put("batch", 8);
        budget.put("linearize_seconds", Math.round(linearizeSeconds));
        budget.put("total_seconds", Math.round(seconds));
        return root;
    }

    private String markdown() {
        StringBuilder s = new StringBuilder();
        s.append("# lolcats demo report: the ").append(profile.name()).append(" teacher\n\n");
        s.append("Teacher `").append(teacher).append("`, linearized with LoLCATs (hybrid sliding window W = ").append(WINDOW)
                .append(" + linear attention, feature dim 32). Budget: ")
                .append(String.format(Locale.ROOT, "%d stage-1 and %d stage-2 steps of 8 x %d tokens", stage1Steps, stage2Steps,
                        profile.seqLen()))
                .append(String.format(Locale.ROOT, "; linearizing took %s, the whole demo %s on %s (2 cores, shared: timings are noisy).%n%n",
                        ProgressLine.duration(linearizeSeconds), ProgressLine.duration(seconds), cpuName()));
        s.append("## Teacher vs linearized vs untrained swap\n\n").append(markdownTable()).append('\n');
        s.append("""
                - **held-out perplexity**: per byte-level token on Moby-Dick chapters 126-135, which no model trained on.
                - **untrained swap**: the teacher with its attention replaced by LoLCATs attention with fresh weights, before any
                  training: the starting point. **Gap closed** = (swap - linearized) / (swap - teacher) in perplexity.
                - **cloze**: 300 four-way next-word items from the held-out chapters (chance 25%).
                - **recall** (share of answers whose every token is the greedy prediction): held-out probes in the teacher's
                  training format, with filler from the held-out chapters. *Inside W* = the copy is fewer than 64 tokens back,
                  where the sliding-window softmax still sees it; *beyond W* = further back, where only the linear attention's
                  fixed-size state can carry it.
                - **sparse cache**: the same adapter, no training, with a cache of the 64 key-value pairs per head that the
                  linear state recalls worst once they leave the window (after LoLA, arXiv 2505.23666; docs/sparse-cache.md).

                """);
        s.append("## Recall accuracy by distance\n\n![passkey](recall_passkey.png)\n\n![mqar](recall_mqar.png)\n\n");
        String[] tasks = {"passkey", "MQAR"};
        for (int t = 0; t < 2; t++) {
            s.append("| ").append(tasks[t]).append(": distance |");
            for (String[] m : MODELS) {
                s.append(' ').append(m[2]).append(" |");
            }
            s.append("\n|---:|").append("---:|".repeat(MODELS.length)).append('\n');
            for (int d : byDistance(EvalRunner.BASE, t).keySet()) {
                s.append(String.format(Locale.ROOT, "| %d%s |", d, d < WINDOW ? " (inside W)" : ""));
                for (String[] m : MODELS) {
                    s.append(' ').append(pct(byDistance(m[1], t).getOrDefault(d, Double.NaN))).append(" |");
                }
                s.append('\n');
            }
            s.append('\n');
        }
        s.append(sweepMarkdown());
        s.append("## Decoding: time per token and attention memory at growing context\n\n");
        s.append("![decode time](decode_ms_per_token.png)\n\n![decode memory](decode_state_bytes.png)\n\n");
        s.append("| context | teacher ms/token | linearized ms/token | teacher KV cache bytes | linearized state bytes |\n");
        s.append("|---:|---:|---:|---:|---:|\n");
        for (DecodeBench.Row r : decode) {
            s.append(String.format(Locale.ROOT, "| %d | %.2f | %.2f | %,d | %,d |%n", r.context(), r.softmaxMsPerToken(),
                    r.linearMsPerToken(), r.softmaxCacheBytes(), r.linearStateBytes()));
        }
        s.append("""

                bf16, median of 24 decode steps after the context is in the cache (random tokens; contexts past the
                teacher's training length only measure cost). The teacher's KV cache grows with the context; the linearized
                model keeps the last 64 keys/values plus a fixed-size state per head.

                ## Samples

                """);
        for (Map.Entry<String, String> e : samples.entrySet()) {
            s.append("**").append(e.getKey()).append("** (temperature 0.7, seed 1):\n\n```\n").append(e.getValue()).append("\n```\n\n");
        }
        s.append(String.format(Locale.ROOT, "A held-out passkey question, the key %d tokens back (expected `%s`), greedy answers: ",
                passkeyDistance, passkeyExpected));
        List<String> answers = new ArrayList<>();
        passkeyAnswers.forEach((k, v) -> answers.add(k + " `" + v.replace("`", "'") + "`"));
        s.append(String.join(", ", answers)).append(".\n");
        return s.toString();
    }

    /** The sparse-cache sweep: recall beyond W, perplexity and state bytes for each cache size. */
    String sweepMarkdown() {
        StringBuilder s = new StringBuilder("## Sparse cache: recall and cost by cache size (no training)\n\n");
        s.append(String.format(Locale.ROOT, "| cache C | held-out ppl (change) | passkey beyond W (recovered) | MQAR beyond W (recovered) "
                + "| decode state at %d tokens |%n|---:|---:|---:|---:|---:|%n", SWEEP_CONTEXT));
        s.append(String.format(Locale.ROOT, "| 0 (LoLCATs) | %s | %s | %s | %s |%n", number(perplexity(EvalRunner.LINEARIZED)),
                pct(metric(recall, EvalRunner.LINEARIZED, 0, "acc_beyond")), pct(metric(recall, EvalRunner.LINEARIZED, 1, "acc_beyond")),
                bytes(stateBytes.getOrDefault(0, -1L))));
        double linearPpl = perplexity(EvalRunner.LINEARIZED);
        for (int pairs : sweep(profile)) {
            String run = sparseRun(pairs);
            s.append(String.format(Locale.ROOT, "| %d | %s (%+.2f%%) | %s (%s) | %s (%s) | %s |%n", pairs, number(perplexity(run)),
                    100 * (perplexity(run) / linearPpl - 1), pct(metric(recall, run, 0, "acc_beyond")), pct(recovered(pairs, 0)),
                    pct(metric(recall, run, 1, "acc_beyond")), pct(recovered(pairs, 1)), bytes(stateBytes.getOrDefault(pairs, -1L))));
        }
        s.append(String.format(Locale.ROOT, "| teacher (KV cache) | %s | %s | %s | %s |%n%n", number(perplexity(EvalRunner.BASE)),
                pct(metric(recall, EvalRunner.BASE, 0, "acc_beyond")), pct(metric(recall, EvalRunner.BASE, 1, "acc_beyond")),
                bytes(teacherKvBytes(SWEEP_CONTEXT))));
        s.append("""
                *Recovered* = (with cache - LoLCATs) / (teacher - LoLCATs) beyond the window: the share of the teacher's lead that
                the cache brings back (- when the teacher leads by under 5 points). State bytes: window, linear state and cache
                of every layer after a real prefill, fixed by C whatever the context; the teacher's KV cache grows with it.

                """);
        return s.toString();
    }

    private static String bytes(long b) {
        return b < 0 ? "-" : String.format(Locale.ROOT, "%,d B", b);
    }

    static String cpuName() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }
}
