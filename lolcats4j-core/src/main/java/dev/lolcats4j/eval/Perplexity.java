package dev.lolcats4j.eval;

import dev.lolcats4j.BadInputException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Perplexity of whole documents with a bounded context, HF-style windows: the first window
 * scores tokens 1..context-1 of a document; each later window scores the next {@code stride}
 * tokens and is extended to the left with as much earlier text as fits in {@code context}
 * tokens. Every token after the first is scored exactly once. {@link Windows#chunked} uses
 * {@code stride = context - 1}: disjoint windows that overlap by the one token they need.
 */
public final class Perplexity {

    private Perplexity() {}

    /** A document to score: its token ids (the first one, usually BOS, is never scored) and its UTF-8 size. */
    public record Document(String name, int[] ids, long bytes) {

        public static Document ofText(String name, String text, int[] ids) {
            return new Document(name, ids, text.getBytes(StandardCharsets.UTF_8).length);
        }
    }

    /**
     * @param context tokens per forward pass, at least 2
     * @param stride new tokens scored per window after the first, in [1, context-1]
     */
    public record Windows(int context, int stride) {

        public Windows {
            if (context < 2) {
                throw new BadInputException("context: expected >= 2 tokens, found " + context);
            }
            if (stride < 1 || stride > context - 1) {
                throw new BadInputException("stride: expected 1 <= stride <= context-1 (" + (context - 1) + "), found " + stride);
            }
        }

        public static Windows chunked(int context) {
            return new Windows(context, context - 1);
        }

        public static Windows sliding(int context, int stride) {
            return new Windows(context, stride);
        }

        /** The windows over a document of n tokens. */
        public List<Window> over(int n) {
            List<Window> out = new ArrayList<>();
            int next = 1;
            while (next < n) {
                int end = next == 1 ? Math.min(n, context) : Math.min(n, next + stride);
                out.add(new Window(Math.max(0, end - context), end, next));
                next = end;
            }
            return out;
        }
    }

    /** Tokens [begin, end) go through the model; targets [scoreFrom, end) are scored. */
    public record Window(int begin, int end, int scoreFrom) {}

    /**
     * Totals over the documents.
     *
     * @param tokens scored tokens
     * @param bytes UTF-8 bytes of the documents (0 when they came as token ids)
     * @param nllSum total negative log-likelihood in nats
     */
    public record Stats(long tokens, long bytes, double nllSum) {

        public double tokenPerplexity() {
            return Math.exp(nllSum / tokens);
        }

        public double nllPerToken() {
            return nllSum / tokens;
        }

        /** Bits per UTF-8 byte: tokenizer-independent, comparable across models. NaN without bytes. */
        public double bitsPerByte() {
            return bytes == 0 ? Double.NaN : nllSum / (bytes * Math.log(2));
        }
    }

    /** Scores every document window by window (all windows of all documents batched together). */
    public static Stats evaluate(SequenceScorer scorer, List<Document> documents, Windows windows) {
        List<int[]> sequences = new ArrayList<>();
        List<Window> plan = new ArrayList<>();
        long bytes = 0;
        for (Document d : documents) {
            if (d.ids().length < 2) {
                throw new BadInputException(d.name() + ": expected at least 2 tokens to score, found " + d.ids().length);
            }
            bytes += d.bytes();
            for (Window w : windows.over(d.ids().length)) {
                sequences.add(java.util.Arrays.copyOfRange(d.ids(), w.begin(), w.end()));
                plan.add(w);
            }
        }
        List<SequenceScorer.Scored> scored = scorer.score(sequences);
        double nll = 0;
        long tokens = 0;
        for (int i = 0; i < plan.size(); i++) {
            Window w = plan.get(i);
            nll -= scored.get(i).sumOfTokens(w.scoreFrom() - w.begin(), w.end() - w.begin());
            tokens += w.end() - w.scoreFrom();
        }
        return new Stats(tokens, bytes, nll);
    }
}
