package dev.lolcats4j.eval;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.Models;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Runs task files on a model ({@link #evaluate}) or on base, linearized and optionally
 * swapped-untrained models side by side ({@link #compare}). The CLI's {@code lolcats eval} is
 * a thin shell over these two calls plus {@link EvalReport#toMarkdown()} / {@link EvalReport#toJson()}.
 */
public final class EvalRunner {

    public static final String BASE = "base";
    public static final String LINEARIZED = "linearized";
    public static final String UNTRAINED = "untrained";
    public static final String MODEL = "model";

    private EvalRunner() {}

    /** The base model with its adapter, and the run's sparse cache override, if any. */
    private static DecoderModel linearized(Path modelDir, Path adapterDir, EvalOptions options) {
        DecoderModel model = Models.open(modelDir, adapterDir, options.computeType());
        if (options.sparseCache() > 0) {
            Adapters.setSparseCache(model, options.sparseCache());
        }
        return model;
    }

    /**
     * One model: the base folder with the adapter folder (or one embedded in the model folder).
     * The run is labelled "linearized" when an adapter applies, else "model".
     */
    public static EvalReport evaluate(Path modelDir, Path adapterDir, List<Path> taskFiles, EvalOptions options) {
        List<EvalTask> tasks = TaskFiles.readAll(taskFiles);
        boolean adapted = Models.adapterFolder(modelDir, adapterDir).isPresent();
        Map<String, List<TaskResult>> runs = new LinkedHashMap<>();
        try (Tokenizer tokenizer = Tokenizers.forModel(modelDir).orElse(null)) {
            options.say("loading " + modelDir + (adapted ? " with adapter" : ""));
            DecoderModel model = linearized(modelDir, adapterDir, options);
            runs.put(adapted ? LINEARIZED : MODEL, run(model, Optional.ofNullable(tokenizer), tasks, options));
        }
        return new EvalReport(modelDir, adapterDir, runs);
    }

    /**
     * Base (adapter ignored), linearized (with the adapter) and, if asked, untrained: the
     * adapter's config applied by {@link Adapters#convert} with fresh initial weights.
     */
    public static EvalReport compare(Path modelDir, Path adapterDir, List<Path> taskFiles, boolean untrained, EvalOptions options) {
        Path adapter = Models.adapterFolder(modelDir, adapterDir)
                .orElseThrow(() -> new BadInputException("--compare: expected --adapter DIR (or an adapter inside " + modelDir + ")"));
        List<EvalTask> tasks = TaskFiles.readAll(taskFiles);
        AdapterConfig config = AdapterConfigJson.read(adapter);
        Map<String, List<TaskResult>> runs = new LinkedHashMap<>();
        try (Tokenizer tokenizer = Tokenizers.forModel(modelDir).orElse(null)) {
            Optional<Tokenizer> tok = Optional.ofNullable(tokenizer);
            options.say("base: " + modelDir);
            runs.put(BASE, run(ModelLoader.load(modelDir, options.computeType()), tok, tasks, options));
            if (adapter.equals(modelDir)) {
                throw new BadInputException(modelDir + ": --compare needs the base folder without an embedded adapter");
            }
            options.say("linearized: " + modelDir + " + " + adapter);
            runs.put(LINEARIZED, run(linearized(modelDir, adapter, options), tok, tasks, options));
            if (untrained) {
                options.say("untrained: attention swapped with " + adapter.resolve(AdapterConfigJson.FILE_NAME) + ", fresh init");
                DecoderModel swapped = ModelLoader.load(modelDir, options.computeType());
                org.bytedeco.pytorch.global.torch.manual_seed(options.seed() == null ? 0 : options.seed());
                Adapters.convert(swapped, config);
                runs.put(UNTRAINED, run(swapped, tok, tasks, options));
            }
        }
        return new EvalReport(modelDir, adapter, runs);
    }

    /** Runs every task on one model. */
    public static List<TaskResult> run(DecoderModel model, Optional<Tokenizer> tokenizer, List<EvalTask> tasks, EvalOptions options) {
        int bos = model.config().bosTokenId();
        OptionalInt bosId = tokenizer.isPresent() ? tokenizer.get().bosId()
                : bos >= 0 && bos < model.config().vocabSize() ? OptionalInt.of(bos) : OptionalInt.empty();
        SequenceScorer scorer = new ModelScorer(model, options.maxBatchTokens(), null);
        return run(scorer, tokenizer, bosId, model.config().maxPositionEmbeddings(), tasks, options);
    }

    /**
     * Runs every task with any scorer (tests use stubs).
     *
     * @param bos BOS id for the synthetic id-level probes
     * @param maxPositions the model's longest sequence
     */
    public static List<TaskResult> run(SequenceScorer scorer, Optional<Tokenizer> tokenizer, OptionalInt bos, int maxPositions,
            List<EvalTask> tasks, EvalOptions options) {
        List<TaskResult> out = new ArrayList<>();
        for (EvalTask task : tasks) {
            long started = System.nanoTime();
            TaskResult r = switch (task) {
                case EvalTask.MultipleChoiceTask t -> multipleChoice(scorer, needTokenizer(tokenizer, t), t, maxPositions, options);
                case EvalTask.PerplexityTask t -> perplexity(scorer, needTokenizer(tokenizer, t), t, maxPositions, options);
                case EvalTask.PasskeyTask t -> passkey(scorer, tokenizer, bos, t, options);
                case EvalTask.MqarTask t -> mqar(scorer, bos, t, options);
            };
            options.say(String.format("%s (%s): %s in %.1f s", task.name(), task.kind(), r.metrics(), (System.nanoTime() - started) / 1e9));
            out.add(r);
        }
        return out;
    }

    private static Tokenizer needTokenizer(Optional<Tokenizer> tokenizer, EvalTask task) {
        return tokenizer.orElseThrow(() -> new BadInputException(task.source() + ": task " + task.kind()
                + " needs the model's tokenizer.json, and the model folder has none"));
    }

    private static TaskResult multipleChoice(SequenceScorer scorer, Tokenizer tok, EvalTask.MultipleChoiceTask t, int maxPositions,
            EvalOptions o) {
        int k = o.numFewshot() != null ? o.numFewshot() : t.numFewshot();
        if (k > t.items().size() - 1) {
            throw new BadInputException(t.source() + ": num_fewshot: expected at most " + (t.items().size() - 1) + ", found " + k);
        }
        int maxLength = o.context() > 0 ? o.context() : maxPositions;
        MultipleChoice.Options options = new MultipleChoice.Options(k, o.seed() != null ? o.seed() : t.seed(), t.fewshotDelimiter(), maxLength);
        MultipleChoice.Result r;
        try {
            r = MultipleChoice.evaluate(scorer, tok, t.items(), options);
        } catch (BadInputException e) {
            throw new BadInputException(t.source() + ": " + e.getMessage(), e);
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("acc", r.acc());
        metrics.put("acc_norm", r.accNorm());
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("items", (long) r.items());
        counts.put("num_fewshot", (long) k);
        return new TaskResult(t.name(), t.kind(), t.source(), metrics, counts);
    }

    private static TaskResult perplexity(SequenceScorer scorer, Tokenizer tok, EvalTask.PerplexityTask t, int maxPositions, EvalOptions o) {
        int context = o.context() > 0 ? o.context() : t.context() > 0 ? t.context() : Math.min(maxPositions, EvalOptions.DEFAULT_CONTEXT_CAP);
        int stride = o.stride() > 0 ? o.stride() : t.stride() > 0 ? t.stride() : Math.max(1, context / 2);
        Perplexity.Windows windows = t.sliding() ? Perplexity.Windows.sliding(context, Math.min(stride, context - 1))
                : Perplexity.Windows.chunked(context);
        List<Perplexity.Document> docs = new ArrayList<>();
        for (EvalTask.Text text : t.texts()) {
            docs.add(document(text.name(), text.text(), tok));
        }
        for (Path f : t.files()) {
            String text;
            try {
                text = Files.readString(f, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new BadInputException(f + ": cannot read as UTF-8 text: " + e.getMessage(), e);
            }
            docs.add(document(f.toString(), text, tok));
        }
        Perplexity.Stats s = Perplexity.evaluate(scorer, docs, windows);
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("token_perplexity", s.tokenPerplexity());
        metrics.put("bits_per_byte", s.bitsPerByte());
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("documents", (long) docs.size());
        counts.put("tokens", s.tokens());
        counts.put("bytes", s.bytes());
        counts.put("context", (long) context);
        counts.put("stride", (long) windows.stride());
        return new TaskResult(t.name(), t.kind(), t.source(), metrics, counts);
    }

    private static Perplexity.Document document(String name, String text, Tokenizer tok) {
        int[] ids = tok.encode(text);
        if (ids.length < 2) {
            throw new BadInputException(name + ": expected text of at least 2 tokens, found " + ids.length);
        }
        return Perplexity.Document.ofText(name, text, ids);
    }

    private static TaskResult passkey(SequenceScorer scorer, Optional<Tokenizer> tok, OptionalInt bos, EvalTask.PasskeyTask t, EvalOptions o) {
        boolean text = switch (t.mode()) {
            case "text" -> {
                needTokenizer(tok, t);
                yield true;
            }
            case "ids" -> false;
            default -> tok.isPresent();
        };
        RecallProbes.ProbeFactory factory = text
                ? (length, random) -> RecallProbes.passkeyText(length, t.digits(), tok.get(), random)
                : (length, random) -> RecallProbes.passkeyIds(length, t.digits(), scorer.vocabSize(), t.minId(), bos, random);
        return probeResult(t, RecallProbes.evaluate(scorer, t.lengths(), t.trials(), o.seed() != null ? o.seed() : t.seed(),
                wrap(t, factory)), t.trials(), text ? "text" : "ids");
    }

    private static TaskResult mqar(SequenceScorer scorer, OptionalInt bos, EvalTask.MqarTask t, EvalOptions o) {
        RecallProbes.ProbeFactory factory = (length, random) -> RecallProbes.mqar(length, t.pairs(), scorer.vocabSize(), t.minId(), bos, random);
        return probeResult(t, RecallProbes.evaluate(scorer, t.lengths(), t.trials(), o.seed() != null ? o.seed() : t.seed(),
                wrap(t, factory)), t.trials(), "ids");
    }

    private static RecallProbes.ProbeFactory wrap(EvalTask t, RecallProbes.ProbeFactory f) {
        return (length, random) -> {
            try {
                return f.make(length, random);
            } catch (BadInputException e) {
                throw new BadInputException(t.source() + ": " + e.getMessage(), e);
            }
        };
    }

    private static TaskResult probeResult(EvalTask t, RecallProbes.Result r, int trials, String mode) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        r.accuracyByLength().forEach((length, acc) -> metrics.put("acc@" + length, acc));
        metrics.put("acc_mean", r.meanAccuracy());
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("trials_per_length", (long) trials);
        return new TaskResult(t.name() + (mode.equals("text") ? "" : " (ids)"), t.kind(), t.source(), metrics, counts);
    }

}
