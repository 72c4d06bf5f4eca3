package dev.lolcats4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a user-supplied JSON file: malformed JSON is bad input, named by file and position.
 * Strict: anything after the top-level value (a second object, stray text) and a key given
 * twice in one object are errors, not silently ignored or resolved by "last one wins". Typed,
 * range-checked access to the fields is in {@link JsonFields}.
 */
public final class JsonFiles {

    /** Largest JSON file read whole (tokenizer.json of large vocabularies is tens of MB). */
    public static final long MAX_BYTES = 512L << 20;

    private static final ObjectMapper JSON = strictMapper();

    private JsonFiles() {}

    /**
     * A mapper that refuses trailing content after the value and duplicate keys. Every reader
     * of user files uses one of these, so that {@code {...} garbage} is an error everywhere.
     */
    public static ObjectMapper strictMapper() {
        ObjectMapper mapper = new ObjectMapper();
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        return mapper;
    }

    public static JsonNode read(Path file) {
        InputFiles.refuseLarger(file, InputFiles.MAX_JSON_BYTES);
        try {
            if (!Files.isRegularFile(file)) {
                throw new BadInputException(file + ": " + (Files.exists(file) ? "not a regular file" : "not found"));
            }
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new BadInputException(file + ": " + size + " bytes; a JSON file read whole may have at most " + MAX_BYTES);
            }
            return parse(file, Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses bytes that came from {@code file} (named in errors). */
    public static JsonNode parse(Path file, byte[] bytes) {
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new BadInputException(file + ": not valid JSON: the file is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ": not valid JSON: " + oneLine(e.getOriginalMessage())
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
