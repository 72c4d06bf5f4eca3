package dev.lolcats4j.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Turns held-out text into a multiple-choice cloze task: each sentence (of at least
 * {@code minWords} words) is cut at a word boundary; the start is the context and the true
 * ending competes with the endings of other sentences. Choices start with the space that
 * separated them from the context. Deterministic for a seed.
 */
public final class ClozeTaskBuilder {

    /**
     * @param choices choices per item (1 true + choices-1 distractors)
     * @param maxItems at most this many items (sentences are drawn at random when there are more)
     * @param seed seed for the draw, the cut points' jitter and the choice order
     * @param minWords sentences shorter than this are skipped
     * @param endingWords words in each ending: 0 = the rest of the sentence; k = only the next k
     *     words (an easier next-word cloze that small models can show skill on)
     */
    public record Options(int choices, int maxItems, long seed, int minWords, int endingWords) {

        public Options(int choices, int maxItems, long seed, int minWords) {
            this(choices, maxItems, seed, minWords, 0);
        }

        public Options {
            if (choices < 2) {
                throw new BadInputException("choices: expected >= 2, found " + choices);
            }
            if (minWords < 4) {
                throw new BadInputException("min words: expected >= 4, found " + minWords);
            }
        }

        public static Options defaults() {
            return new Options(4, 500, 1234, 8);
        }
    }

    private ClozeTaskBuilder() {}

    /** Sentences: runs of text ending in . ! or ? (followed by whitespace or the end), whitespace collapsed. */
    public static List<String> sentences(String text) {
        List<String> out = new ArrayList<>();
        for (String s : text.replaceAll("\\s+", " ").split("(?<=[.!?][\"')\\]]?) (?=\\S)")) {
            String t = s.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    public static List<MultipleChoice.Item> build(String text, Options options) {
        List<String[]> usable = new ArrayList<>();
        for (String s : sentences(text)) {
            String[] words = s.split(" ");
            if (words.length >= options.minWords()) {
                usable.add(words);
            }
        }
        if (usable.size() < options.choices()) {
            throw new BadInputException("cloze: expected at least " + options.choices() + " sentences of >= " + options.minWords()
                    + " words, found " + usable.size());
        }
        SplittableRandom random = new SplittableRandom(options.seed());
        // cut each sentence between 40% and 70% of its words (at least 3 words each side)
        String[] contexts = new String[usable.size()];
        String[] endings = new String[usable.size()];
        for (int i = 0; i < usable.size(); i++) {
            String[] w = usable.get(i);
            int lo = Math.max(3, (int) Math.floor(0.4 * w.length));
            int hi = Math.min(w.length - 3, (int) Math.ceil(0.7 * w.length));
            int cut = hi <= lo ? lo : lo + random.nextInt(hi - lo + 1);
            contexts[i] = String.join(" ", Arrays.copyOfRange(w, 0, cut));
            int end = options.endingWords() > 0 ? Math.min(w.length, cut + options.endingWords()) : w.length;
            endings[i] = " " + String.join(" ", Arrays.copyOfRange(w, cut, end));
        }
        int[] order = shuffled(usable.size(), random);
        List<MultipleChoice.Item> items = new ArrayList<>();
        for (int n = 0; n < order.length && items.size() < options.maxItems(); n++) {
            int i = order[n];
            Set<String> choices = new LinkedHashSet<>();
            choices.add(endings[i]);
            for (int j : shuffled(usable.size(), random)) {
                if (choices.size() == options.choices()) {
                    break;
                }
                choices.add(endings[j]); // a set: duplicates of the true ending are skipped
            }
            if (choices.size() < options.choices()) {
                continue;
            }
            List<String> list = new ArrayList<>(choices);
            int gold = random.nextInt(list.size());
            list.set(0, list.get(gold));
            list.set(gold, endings[i]);
            items.add(new MultipleChoice.Item(contexts[i], list, gold, 0));
        }
        return items;
    }

    private static int[] shuffled(int n, SplittableRandom random) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    /** Reads a held-out text file and writes the task as JSONL with a multiple_choice header. */
    public static List<MultipleChoice.Item> buildFile(Path textFile, Path taskFile, String name, Options options) {
        String text;
        try {
            text = Files.readString(textFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new BadInputException(textFile + ": cannot read as UTF-8 text: " + e.getMessage(), e);
        }
        List<MultipleChoice.Item> items;
        try {
            items = build(text, options);
        } catch (BadInputException e) {
            throw new BadInputException(textFile + ": " + e.getMessage(), e);
        }
        write(items, taskFile, name);
        return items;
    }

    /** Writes items as a task file: a header line, then one item per line. */
    public static void write(List<MultipleChoice.Item> items, Path taskFile, String name) {
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        ObjectNode header = json.createObjectNode();
        header.put("task", TaskFiles.MULTIPLE_CHOICE);
        header.put("name", name);
        try {
            sb.append(json.writeValueAsString(header)).append('\n');
            for (MultipleChoice.Item item : items) {
                ObjectNode n = json.createObjectNode();
                n.put("context", item.context());
                item.choices().forEach(n.putArray("choices")::add);
                n.put("gold", item.gold());
                sb.append(json.writeValueAsString(n)).append('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(taskFile, out -> out.write(bytes));
    }
}
