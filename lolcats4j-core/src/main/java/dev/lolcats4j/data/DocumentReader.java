package dev.lolcats4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Streams training documents from plain text files and folders, JSONL with a "text" field,
 * and Alpaca-style JSON/JSONL (instruction / input / output; loss on the response only).
 * Files are read one document (or line) at a time, never whole into memory except .json arrays.
 *
 * <p>Documents longer than {@link #MAX_PIECE_CHARS} characters are tokenized in pieces of at
 * most that many characters, cut at a whitespace in the second half of the limit where there is
 * one: the tokenizer's native code needs memory proportional to its input (a 50 MB paragraph
 * made it abort the JVM), and this keeps it bounded. The pieces are handed on in order, so the
 * packed token stream is the document's (a BOS only before the first piece, an EOS only after
 * the last; a piece boundary inside a word could tokenize differently, which cutting at
 * whitespace avoids). Plain text is streamed, so a paragraph of any length is never held whole.
 */
public final class DocumentReader {

    /** The Alpaca prompt template (with and without input). */
    static final String ALPACA_WITH_INPUT = "Below is an instruction that describes a task, paired with an input that provides "
            + "further context. Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:\n";
    static final String ALPACA_NO_INPUT = "Below is an instruction that describes a task. Write a response that "
            + "appropriately completes the request.\n\n### Instruction:\n%s\n\n### Response:\n";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The most characters tokenized at once (see the class comment). */
    public static final int MAX_PIECE_CHARS = 1 << 16;

    private final Tokenizer tokenizer;
    private final BadLinePolicy policy;
    private final Consumer<String> warnings;

    public DocumentReader(Tokenizer tokenizer, BadLinePolicy policy, Consumer<String> warnings) {
        this.tokenizer = tokenizer;
        this.policy = policy;
        this.warnings = warnings;
    }

    /** Reads every file (folders recursively, sorted by path), handing each example on. */
    public void read(List<Path> inputs, Consumer<Example> sink) {
        for (Path input : inputs) {
            for (Path file : files(input)) {
                readFile(file, sink);
            }
        }
    }

    private static List<Path> files(Path input) {
        dev.lolcats4j.io.InputFiles.refuseSpecial(input);
        if (!Files.exists(input)) {
            throw new BadInputException(input + ": data file or folder not found");
        }
        if (!Files.isDirectory(input)) {
            return List.of(input);
        }
        try (Stream<Path> walk = Files.walk(input)) {
            List<Path> files = walk.filter(Files::isRegularFile)
                    .filter(p -> p.toString().matches(".*\\.(txt|md|jsonl|json)$")).sorted().toList();
            if (files.isEmpty()) {
                throw new BadInputException(input + ": no .txt, .md, .jsonl or .json files in the folder");
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void readFile(Path file, Consumer<Example> sink) {
        String name = file.getFileName().toString();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            if (name.endsWith(".jsonl")) {
                String line;
                int number = 0;
                while ((line = reader.readLine()) != null) {
                    number++;
                    if (!line.isBlank()) {
                        jsonRecord(file, number, line, sink);
                    }
                }
            } else if (name.endsWith(".json")) {
                readJsonArray(file, reader, sink);
            } else {
                readParagraphs(reader, sink);
            }
        } catch (java.nio.charset.MalformedInputException e) {
            throw new BadInputException(file + ": not valid UTF-8 text");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    /** A JSON array of records, streamed one record at a time; errors name the record's line. */
    private void readJsonArray(Path file, BufferedReader reader, Consumer<Example> sink) throws IOException {
        try (com.fasterxml.jackson.core.JsonParser parser = JSON.getFactory().createParser(reader)) {
            if (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
                bad(file, 1, "expected a JSON array of records");
                return;
            }
            com.fasterxml.jackson.core.JsonToken token;
            while ((token = parser.nextToken()) != com.fasterxml.jackson.core.JsonToken.END_ARRAY && token != null) {
                int line = parser.currentTokenLocation().getLineNr();
                JsonNode node = JSON.readTree(parser);
                record(file, line, node, sink);
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException(file + ":" + (e.getLocation() == null ? 1 : e.getLocation().getLineNr())
                    + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
    }

    /**
     * Plain text: blank-line separated paragraphs are documents (lines joined by "\n", line
     * ends "\n", "\r\n"). Read a character at a time through the buffered reader, so that a
     * paragraph (or a line) longer than {@link #MAX_PIECE_CHARS} goes on in pieces as it is read.
     */
    private void readParagraphs(BufferedReader reader, Consumer<Example> sink) throws IOException {
        Pieces document = new Pieces(sink);
        StringBuilder text = new StringBuilder();
        int lineStart = 0; // where the current line begins in text
        boolean lineBlank = true;
        char[] buffer = new char[8192];
        for (int read = reader.read(buffer); read >= 0; read = reader.read(buffer)) {
            for (int at = 0; at < read; at++) {
                char c = buffer[at];
                if (c == '\r') {
                    continue;
                }
                if (c != '\n') {
                    text.append(c);
                    lineBlank &= Character.isWhitespace(c);
                    if (text.length() >= MAX_PIECE_CHARS) {
                        int cut = cutAt(text);
                        document.piece(text.substring(0, cut));
                        text.delete(0, cut);
                        lineStart = Math.max(0, lineStart - cut);
                    }
                } else if (lineBlank) {
                    // A blank line ends the paragraph; drop it and the line break before it.
                    text.setLength(Math.max(0, lineStart - 1));
                    document.last(text);
                    lineStart = 0;
                } else {
                    text.append('\n');
                    lineStart = text.length();
                    lineBlank = true;
                }
            }
        }
        text.setLength(lineBlank ? Math.max(0, lineStart - 1) : text.length());
        document.last(text);
    }

    /**
     * Where to end a piece of {@code text} (at least MAX_PIECE_CHARS / 2 characters): before
     * the last whitespace in the second half of the limit, else at the limit (never between
     * the two halves of a surrogate pair).
     */
    static int cutAt(CharSequence text) {
        int limit = Math.min(text.length(), MAX_PIECE_CHARS);
        for (int i = limit - 1; i >= limit / 2; i--) {
            if (Character.isWhitespace(text.charAt(i))) {
                return i;
            }
        }
        return Character.isHighSurrogate(text.charAt(limit - 1)) ? limit - 1 : limit;
    }

    /**
     * One document handed on in pieces: the first tokenized with special tokens (BOS), the
     * rest without, an EOS after the last; every token trains.
     */
    private final class Pieces {
        private final Consumer<Example> sink;
        private boolean started;

        Pieces(Consumer<Example> sink) {
            this.sink = sink;
        }

        void piece(String text) {
            emit(text, false);
        }

        /** The document's last piece (possibly empty); the next call starts a new document. */
        void last(StringBuilder text) {
            if (!text.isEmpty() || started) {
                emit(text.toString(), true);
            }
            text.setLength(0);
            started = false;
        }

        private void emit(String text, boolean last) {
            int[] ids = text.isEmpty() ? new int[0] : started ? tokenizer.encodeWithoutSpecial(text) : tokenizer.encode(text);
            started = true;
            if (last) {
                ids = withEos(ids);
            }
            boolean[] train = new boolean[ids.length];
            java.util.Arrays.fill(train, true);
            sink.accept(new Example(ids, train));
        }
    }

    /** Hands on a whole string as one document, in pieces if it is long. */
    private void plain(String text, Consumer<Example> sink) {
        Pieces document = new Pieces(sink);
        StringBuilder rest = new StringBuilder(text);
        while (rest.length() > MAX_PIECE_CHARS) {
            int cut = cutAt(rest);
            document.piece(rest.substring(0, cut));
            rest.delete(0, cut);
        }
        document.last(rest);
    }

    /** Tokens of a possibly long string, tokenized in pieces (special tokens only with the first). */
    private int[] encodeLong(String text, boolean special) {
        if (text.length() <= MAX_PIECE_CHARS) {
            return special ? tokenizer.encode(text) : tokenizer.encodeWithoutSpecial(text);
        }
        java.util.List<int[]> parts = new ArrayList<>();
        int total = 0;
        int from = 0;
        while (from < text.length()) {
            CharSequence window = text.subSequence(from, Math.min(text.length(), from + MAX_PIECE_CHARS));
            int cut = text.length() - from <= MAX_PIECE_CHARS ? window.length() : cutAt(window);
            String piece = text.substring(from, from + cut);
            int[] ids = special && from == 0 ? tokenizer.encode(piece) : tokenizer.encodeWithoutSpecial(piece);
            parts.add(ids);
            total += ids.length;
            from += cut;
        }
        int[] out = new int[total];
        int at = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    private void jsonRecord(Path file, int line, String text, Consumer<Example> sink) {
        JsonNode node = parse(file, line, text);
        if (node != null) {
            record(file, line, node, sink);
        }
    }

    private JsonNode parse(Path file, int line, String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            bad(file, line, "not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
            return null;
        }
    }

    private void record(Path file, int line, JsonNode node, Consumer<Example> sink) {
        if (node == null || !node.isObject()) {
            bad(file, line, "expected a JSON object");
            return;
        }
        if (node.has("text")) {
            if (!node.get("text").isTextual()) {
                bad(file, line, "field \"text\": expected a string");
                return;
            }
            plain(node.get("text").asText(), sink);
        } else if (node.has("instruction") && node.has("output")) {
            if (!node.get("instruction").isTextual() || !node.get("output").isTextual()
                    || (node.has("input") && !node.get("input").isTextual())) {
                bad(file, line, "fields instruction/input/output: expected strings");
                return;
            }
            String input = node.path("input").asText("");
            String prompt = input.isEmpty()
                    ? String.format(ALPACA_NO_INPUT, node.get("instruction").asText())
                    : String.format(ALPACA_WITH_INPUT, node.get("instruction").asText(), input);
            sink.accept(instruction(prompt, node.get("output").asText()));
        } else {
            bad(file, line, "expected a \"text\" field or Alpaca fields \"instruction\" and \"output\"");
        }
    }

    /** Prompt tokens are context only; the response (and its EOS) carries the loss. */
    private Example instruction(String prompt, String response) {
        // Long prompts and responses are tokenized in pieces too (their ids are what is kept whole).
        int[] promptIds = encodeLong(prompt, true);
        int[] responseIds = withEos(encodeLong(response, false));
        int[] ids = new int[promptIds.length + responseIds.length];
        boolean[] train = new boolean[ids.length];
        System.arraycopy(promptIds, 0, ids, 0, promptIds.length);
        System.arraycopy(responseIds, 0, ids, promptIds.length, responseIds.length);
        java.util.Arrays.fill(train, promptIds.length, ids.length, true);
        return new Example(ids, train);
    }

    private int[] withEos(int[] ids) {
        if (tokenizer.eosId().isEmpty()) {
            return ids;
        }
        int[] out = java.util.Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = tokenizer.eosId().getAsInt();
        return out;
    }

    private void bad(Path file, int line, String problem) {
        String message = file + ":" + line + ": " + problem;
        if (policy == BadLinePolicy.FAIL) {
            throw new BadInputException(message + " (use --on-bad-line skip to skip such lines)");
        }
        warnings.accept("skipped " + message);
    }

    /** All examples of some inputs, in order (for small data and tests). */
    public List<Example> readAll(List<Path> inputs) {
        List<Example> out = new ArrayList<>();
        read(inputs, out::add);
        return out;
    }
}
