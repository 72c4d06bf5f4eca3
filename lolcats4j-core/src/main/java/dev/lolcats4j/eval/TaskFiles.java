package dev.lolcats4j.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads task files. A {@code .txt} file is a perplexity task over that text. Anything else is
 * JSONL, one JSON object per line (blank lines skipped):
 *
 * <pre>
 * line 1 (optional header): {"task": "multiple_choice" | "perplexity" | "passkey" | "mqar", ...options}
 * multiple choice items:    {"context": "The sky is", "choices": [" blue", " green"], "gold": 0}
 * perplexity items:         {"text": "A held-out paragraph ..."}
 * </pre>
 *
 * Without a header the kind is inferred from the first item ("choices" = multiple choice,
 * "text" = perplexity). Options (all optional, unknown ones are an error):
 * <ul>
 *   <li>every kind: {@code name}
 *   <li>multiple_choice: {@code num_fewshot} (0), {@code seed} (1234), {@code fewshot_delimiter} ("\n\n")
 *   <li>perplexity: {@code files} (paths relative to the task file), {@code windows}
 *       ("chunked" | "sliding"), {@code context} (tokens per window), {@code stride} (new
 *       tokens per sliding window, default context/2)
 *   <li>passkey: {@code lengths} ([256,512,1024,2048]), {@code trials} (10), {@code seed} (0),
 *       {@code digits} (5), {@code mode} ("auto" | "text" | "ids"), {@code min_id} (3)
 *   <li>mqar: {@code lengths} ([64,128,256,512]), {@code trials} (10), {@code seed} (0),
 *       {@code pairs} (0 = (length-1)/4), {@code min_id} (3)
 * </ul>
 * passkey and mqar are synthetic: their files hold only the header. Errors name the file and
 * line; a task with no items (and, for perplexity, no files) is an error.
 */
public final class TaskFiles {

    public static final String MULTIPLE_CHOICE = "multiple_choice";
    public static final String PERPLEXITY = "perplexity";
    public static final String PASSKEY = "passkey";
    public static final String MQAR = "mqar";

    private static final ObjectMapper JSON = dev.lolcats4j.io.JsonFiles.strictMapper();
    private static final Map<String, Set<String>> OPTIONS = Map.of(
            MULTIPLE_CHOICE, Set.of("task", "name", "num_fewshot", "seed", "fewshot_delimiter"),
            PERPLEXITY, Set.of("task", "name", "files", "windows", "context", "stride"),
            PASSKEY, Set.of("task", "name", "lengths", "trials", "seed", "digits", "mode", "min_id"),
            MQAR, Set.of("task", "name", "lengths", "trials", "seed", "pairs", "min_id"));
    private static final Set<String> MC_FIELDS = Set.of("context", "choices", "gold");
    private static final Set<String> TEXT_FIELDS = Set.of("text");

    private TaskFiles() {}

    public static List<EvalTask> readAll(List<Path> files) {
        List<EvalTask> tasks = new ArrayList<>();
        for (Path f : files) {
            tasks.add(read(f));
        }
        return tasks;
    }

    public static EvalTask read(Path file) {
        dev.lolcats4j.io.InputFiles.refuseSpecial(file);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": no such task file");
        }
        // Fail fast and name the line: a binary file is refused at its first bad byte.
        long badLine;
        try {
            badLine = dev.lolcats4j.io.Utf8Lines.firstMalformedLine(file);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (badLine > 0) {
            throw new BadInputException(file + ":" + badLine + ": not valid UTF-8 text");
        }
        String base = file.getFileName().toString().replaceFirst("\\.[^.]*$", "");
        if (file.getFileName().toString().endsWith(".txt")) {
            return new EvalTask.PerplexityTask(base, file, List.of(), List.of(file), 0, 0, false);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        }
        JsonNode header = null;
        int headerLine = 0;
        String kind = null;
        List<Line> items = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String text = lines.get(i).strip();
            if (text.isEmpty()) {
                continue;
            }
            int lineNo = i + 1;
            JsonNode node;
            try {
                node = JSON.readTree(text);
            } catch (JsonProcessingException e) {
                throw at(file, lineNo, "malformed JSON: " + e.getOriginalMessage());
            }
            if (node == null || !node.isObject()) {
                throw at(file, lineNo, "expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType()));
            }
            if (node.has("task")) {
                if (header != null || !items.isEmpty()) {
                    throw at(file, lineNo, "a header (\"task\") is allowed only on the first line");
                }
                header = node;
                headerLine = lineNo;
                kind = node.get("task").asText();
                if (!OPTIONS.containsKey(kind)) {
                    throw at(file, lineNo, "task: expected one of multiple_choice, perplexity, passkey, mqar, found \"" + kind + "\"");
                }
                for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
                    String option = it.next();
                    if (!OPTIONS.get(kind).contains(option)) {
                        throw at(file, lineNo, "unknown option \"" + option + "\" for task " + kind + "; expected one of "
                                + new java.util.TreeSet<>(OPTIONS.get(kind)));
                    }
                }
                continue;
            }
            if (kind == null) {
                kind = node.has("choices") ? MULTIPLE_CHOICE : node.has("text") ? PERPLEXITY : null;
                if (kind == null) {
                    throw at(file, lineNo, "cannot tell the task kind: expected a header {\"task\": ...}, "
                            + "a multiple-choice item (\"context\", \"choices\", \"gold\") or a text item (\"text\")");
                }
            }
            items.add(new Line(lineNo, node));
        }
        if (kind == null) {
            throw new BadInputException(file + ": no items (the file is empty)");
        }
        Options o = new Options(file, headerLine, header);
        String name = o.string("name", base);
        return switch (kind) {
            case MULTIPLE_CHOICE -> {
                List<MultipleChoice.Item> parsed = new ArrayList<>();
                for (Line l : items) {
                    parsed.add(mcItem(file, l));
                }
                if (parsed.isEmpty()) {
                    throw new BadInputException(file + ": no items (expected {\"context\", \"choices\", \"gold\"} lines)");
                }
                int k = o.integer("num_fewshot", 0, 0);
                if (k > parsed.size() - 1) {
                    throw at(file, headerLine, "num_fewshot: expected at most " + (parsed.size() - 1)
                            + " (items other than the question), found " + k);
                }
                yield new EvalTask.MultipleChoiceTask(name, file, parsed, k, o.longValue("seed", 1234),
                        o.string("fewshot_delimiter", MultipleChoice.DEFAULT_FEWSHOT_DELIMITER));
            }
            case PERPLEXITY -> {
                List<EvalTask.Text> texts = new ArrayList<>();
                for (Line l : items) {
                    checkFields(file, l, TEXT_FIELDS, "a perplexity item");
                    JsonNode t = l.node().get("text");
                    if (t == null || !t.isTextual() || t.asText().isEmpty()) {
                        throw at(file, l.line(), "text: expected a non-empty string");
                    }
                    texts.add(new EvalTask.Text(file.getFileName() + ":" + l.line(), t.asText()));
                }
                List<Path> paths = new ArrayList<>();
                JsonNode files = header == null ? null : header.get("files");
                if (files != null) {
                    if (!files.isArray()) {
                        throw at(file, headerLine, "files: expected an array of paths");
                    }
                    for (JsonNode f : files) {
                        Path p = file.toAbsolutePath().getParent().resolve(f.asText());
                        if (f.isTextual()) {
                            dev.lolcats4j.io.InputFiles.refuseSpecial(p);
                        }
                        if (!f.isTextual() || !Files.isRegularFile(p)) {
                            throw at(file, headerLine, "files: no such file " + f);
                        }
                        paths.add(p);
                    }
                }
                if (texts.isEmpty() && paths.isEmpty()) {
                    throw new BadInputException(file + ": no items (expected {\"text\": ...} lines or a \"files\" list)");
                }
                String windows = o.string("windows", "chunked");
                if (!windows.equals("chunked") && !windows.equals("sliding")) {
                    throw at(file, headerLine, "windows: expected \"chunked\" or \"sliding\", found \"" + windows + "\"");
                }
                yield new EvalTask.PerplexityTask(name, file, texts, paths, o.integer("context", 0, 2), o.integer("stride", 0, 1),
                        windows.equals("sliding"));
            }
            case PASSKEY -> {
                noItems(file, items, kind);
                String mode = o.string("mode", "auto");
                if (!Set.of("auto", "text", "ids").contains(mode)) {
                    throw at(file, headerLine, "mode: expected \"auto\", \"text\" or \"ids\", found \"" + mode + "\"");
                }
                yield new EvalTask.PasskeyTask(name, file, o.lengths(List.of(256, 512, 1024, 2048)), o.integer("trials", 10, 1),
                        o.longValue("seed", 0), o.integer("digits", 5, 1), mode, o.integer("min_id", 3, 0));
            }
            case MQAR -> {
                noItems(file, items, kind);
                yield new EvalTask.MqarTask(name, file, o.lengths(List.of(64, 128, 256, 512)), o.integer("trials", 10, 1),
                        o.longValue("seed", 0), o.integer("pairs", 0, 0), o.integer("min_id", 3, 0));
            }
            default -> throw new IllegalStateException(kind);
        };
    }

    private record Line(int line, JsonNode node) {}

    private static MultipleChoice.Item mcItem(Path file, Line l) {
        checkFields(file, l, MC_FIELDS, "a multiple-choice item");
        JsonNode n = l.node();
        JsonNode context = n.get("context");
        if (context == null || !context.isTextual()) {
            throw at(file, l.line(), "context: expected a string");
        }
        JsonNode choices = n.get("choices");
        if (choices == null || !choices.isArray() || choices.size() < 2) {
            throw at(file, l.line(), "choices: expected an array of at least 2 strings");
        }
        List<String> list = new ArrayList<>();
        for (JsonNode c : choices) {
            if (!c.isTextual() || c.asText().isEmpty()) {
                throw at(file, l.line(), "choices: expected non-empty strings, found " + c);
            }
            list.add(c.asText());
        }
        JsonNode gold = n.get("gold");
        if (gold == null || !gold.canConvertToInt() || !gold.isIntegralNumber() || gold.asInt() < 0 || gold.asInt() >= list.size()) {
            throw at(file, l.line(), "gold: expected an integer index 0.." + (list.size() - 1) + ", found " + gold);
        }
        return new MultipleChoice.Item(context.asText(), list, gold.asInt(), l.line());
    }

    private static void checkFields(Path file, Line l, Set<String> allowed, String what) {
        for (Iterator<String> it = l.node().fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw at(file, l.line(), "unknown field \"" + f + "\" in " + what + "; expected " + new java.util.TreeSet<>(allowed));
            }
        }
    }

    private static void noItems(Path file, List<Line> items, String kind) {
        if (!items.isEmpty()) {
            throw at(file, items.get(0).line(), kind + " is synthetic: expected only the header line");
        }
    }

    static BadInputException at(Path file, int line, String problem) {
        return new BadInputException(file + ":" + line + ": " + problem);
    }

    /** Header options with defaults and checks. */
    private record Options(Path file, int line, JsonNode header) {

        JsonNode get(String key) {
            return header == null ? null : header.get(key);
        }

        String string(String key, String fallback) {
            JsonNode v = get(key);
            if (v == null) {
                return fallback;
            }
            if (!v.isTextual()) {
                throw at(file, line, key + ": expected a string, found " + v);
            }
            return v.asText();
        }

        int integer(String key, int fallback, int min) {
            JsonNode v = get(key);
            if (v == null) {
                return fallback;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min) {
                throw at(file, line, key + ": expected an integer >= " + min + ", found " + v);
            }
            return v.asInt();
        }

        long longValue(String key, long fallback) {
            JsonNode v = get(key);
            if (v == null) {
                return fallback;
            }
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw at(file, line, key + ": expected an integer, found " + v);
            }
            return v.asLong();
        }

        List<Integer> lengths(List<Integer> fallback) {
            JsonNode v = get("lengths");
            if (v == null) {
                return fallback;
            }
            List<Integer> out = new ArrayList<>();
            if (v.isArray()) {
                for (JsonNode n : v) {
                    if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 8) {
                        out = null;
                        break;
                    }
                    out.add(n.asInt());
                }
            }
            if (out == null || out.isEmpty() || !v.isArray()) {
                throw at(file, line, "lengths: expected a non-empty array of integers >= 8, found " + v);
            }
            return out;
        }
    }
}
