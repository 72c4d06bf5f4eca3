package dev.lolcats4j.eval;

import java.nio.file.Path;
import java.util.List;

/** A parsed task file: what to evaluate and with which options. See {@link TaskFiles} for the format. */
public sealed interface EvalTask {

    /** Name shown in reports (the header's "name", else the file name without extension). */
    String name();

    /** The task file it came from. */
    Path source();

    /** "multiple_choice", "perplexity", "passkey" or "mqar". */
    String kind();

    /** lm-eval-style multiple choice; {@code numFewshot} 0 means zero-shot. */
    record MultipleChoiceTask(String name, Path source, List<MultipleChoice.Item> items, int numFewshot, long seed,
            String fewshotDelimiter) implements EvalTask {
        public MultipleChoiceTask {
            items = List.copyOf(items);
        }

        @Override
        public String kind() {
            return TaskFiles.MULTIPLE_CHOICE;
        }
    }

    /**
     * Perplexity over texts: inline {"text": ...} items and/or files.
     *
     * @param context tokens per window; 0 = the runner's default
     * @param stride new tokens per window for sliding windows; 0 = context / 2
     * @param sliding true for sliding windows, false for chunked ones
     */
    record PerplexityTask(String name, Path source, List<Text> texts, List<Path> files, int context, int stride,
            boolean sliding) implements EvalTask {
        public PerplexityTask {
            texts = List.copyOf(texts);
            files = List.copyOf(files);
        }

        @Override
        public String kind() {
            return TaskFiles.PERPLEXITY;
        }
    }

    /** An inline text and where it was. */
    record Text(String name, String text) {}

    /**
     * Passkey retrieval at each length; mode "text" needs a tokenizer, "ids" works on raw ids,
     * "auto" picks text when the model has a tokenizer.
     */
    record PasskeyTask(String name, Path source, List<Integer> lengths, int trials, long seed, int digits, String mode,
            int minId, RecallFormat recall) implements EvalTask {
        public PasskeyTask {
            lengths = List.copyOf(lengths);
        }

        @Override
        public String kind() {
            return TaskFiles.PASSKEY;
        }
    }

    /**
     * Mode "recall": probes in the text format of {@link dev.lolcats4j.data.RecallText} (what the
     * recall teacher was pretrained on), at controlled retrieval distances instead of lengths,
     * with filler from a held-out text; accuracy is reported per distance and inside / beyond
     * the sliding window of {@code window} tokens.
     */
    record RecallFormat(List<Integer> distances, Path filler, int window) {
        public RecallFormat {
            distances = List.copyOf(distances);
        }
    }

    /** Multi-query associative recall at each length; {@code pairs} 0 fills the sequence. */
    record MqarTask(String name, Path source, List<Integer> lengths, int trials, long seed, int pairs, int minId,
            RecallFormat recall) implements EvalTask {
        public MqarTask {
            lengths = List.copyOf(lengths);
        }

        @Override
        public String kind() {
            return TaskFiles.MQAR;
        }
    }
}
