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
 */
public final class DocumentReader {

    /** The Alpaca prompt template (with and without input). */
    static final String ALPACA_WITH_INPUT = "Below is an instruction that describes a task, paired with an input that provides "
            + "further context. Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:\n";
    static final String ALPACA_NO_INPUT = "Below is an instruction that describes a task. Write a response that "
            + "appropriately completes the request.\n\n### Instruction:\n%s\n\n### Response:\n";

    private static final ObjectMapper JSON = new ObjectMapper();

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
                // Plain text: blank-line separated paragraphs are documents.
                StringBuilder paragraph = new StringBuilder();
                String line;
                while ((line = reader.readLine()) != null) {
                    if (line.isBlank()) {
                        flushText(paragraph, sink);
                    } else {
                        paragraph.append(paragraph.isEmpty() ? "" : "\n").append(line);
                    }
                }
                flushText(paragraph, sink);
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

    private void flushText(StringBuilder paragraph, Consumer<Example> sink) {
        if (!paragraph.isEmpty()) {
            sink.accept(plain(paragraph.toString()));
            paragraph.setLength(0);
        }
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
            sink.accept(plain(node.get("text").asText()));
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

    private Example plain(String text) {
        int[] ids = withEos(tokenizer.encode(text));
        boolean[] train = new boolean[ids.length];
        java.util.Arrays.fill(train, true);
        return new Example(ids, train);
    }

    /** Prompt tokens are context only; the response (and its EOS) carries the loss. */
    private Example instruction(String prompt, String response) {
        int[] promptIds = tokenizer.encode(prompt);
        int[] responseIds = withEos(tokenizer.encodeWithoutSpecial(response));
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
