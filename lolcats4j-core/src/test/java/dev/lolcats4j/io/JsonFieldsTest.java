package dev.lolcats4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What Jackson's lenient accessors let through, refused by file and field. */
class JsonFieldsTest {

    @TempDir
    Path tmp;

    private static final Path FILE = Path.of("x.json");

    private static JsonNode json(String text) {
        return JsonFiles.parse(FILE, text.getBytes(StandardCharsets.UTF_8));
    }

    private static String refused(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(BadInputException.class, e).getMessage();
    }

    @Test
    void integersMustFitTheirRangeExactly() {
        JsonNode n = json("{\"w\": 4294967304, \"s\": \"64\", \"f\": 2.5, \"e\": 1e3, \"d\": 64.0, \"neg\": -1}");
        // asInt() would give 8: the low 32 bits
        assertEquals("x.json: window_size: expected an integer in [1, 65536], found 4294967304",
                refused(() -> JsonFields.integer(FILE, n, "w", "window_size", 1, 65536, 64)));
        assertTrue(refused(() -> JsonFields.integer(FILE, n, "s", "s", 0, 10, 0)).contains("found the string \"64\""));
        assertTrue(refused(() -> JsonFields.integer(FILE, n, "f", "f", 0, 10, 0)).contains("found 2.5"));
        assertTrue(refused(() -> JsonFields.integer(FILE, n, "neg", "neg", 0, 10, 0)).contains("found -1"));
        assertEquals(1000, JsonFields.integer(FILE, n, "e", "e", 0, 5000, 0));
        assertEquals(64, JsonFields.integer(FILE, n, "d", "d", 0, 100, 0));
        assertEquals(7, JsonFields.integer(FILE, n, "absent", "absent", 0, 100, 7));
        assertTrue(refused(() -> JsonFields.requiredInteger(FILE, n, "absent", "absent", 0, 1)).contains("required field is missing"));
    }

    @Test
    void numbersMustBeNumbersInTheirRange() {
        JsonNode n = json("{\"alpha\": \"abc\", \"theta\": 0, \"p\": 1.0, \"ok\": 0.5, \"big\": 1e400}");
        // asDouble() would give 0.0
        assertEquals("x.json: lora.alpha: expected a finite number in (0, inf), found the string \"abc\"",
                refused(() -> JsonFields.number(FILE, n, "alpha", "lora.alpha", 16, JsonFields.Range.POSITIVE)));
        assertTrue(refused(() -> JsonFields.number(FILE, n, "theta", "rope_theta", 1, JsonFields.Range.POSITIVE)).contains("rope_theta"));
        assertTrue(refused(() -> JsonFields.number(FILE, n, "p", "dropout", 0, JsonFields.Range.DROPOUT)).contains("[0, 1)"));
        assertTrue(refused(() -> JsonFields.number(FILE, n, "big", "big", 0, JsonFields.Range.FINITE)).contains("big"));
        assertEquals(0.5, JsonFields.number(FILE, n, "ok", "ok", 0, JsonFields.Range.DROPOUT));
    }

    @Test
    void trailingContentAndDuplicateKeysAreNotValidJson() throws IOException {
        assertTrue(refused(() -> json("{\"a\": 1} {\"b\": 2}")).startsWith("x.json: not valid JSON"));
        assertTrue(refused(() -> json("{\"a\": 1} garbage")).startsWith("x.json: not valid JSON"));
        assertTrue(refused(() -> json("{\"a\": 1, \"a\": 2}")).contains("Duplicate field 'a'"));
        assertTrue(refused(() -> json("")).contains("empty"));
        Path file = Files.writeString(tmp.resolve("c.json"), "{\"a\": 1}\n\n");
        assertEquals(1, JsonFiles.read(file).get("a").asInt(), "trailing whitespace is fine");
        assertTrue(refused(() -> JsonFiles.read(tmp)).contains("not a regular file"));
    }

    @Test
    void booleansAndStringsAreTyped() {
        JsonNode n = json("{\"b\": \"yes\", \"t\": 3}");
        assertTrue(refused(() -> JsonFields.bool(FILE, n, "b", "tie_word_embeddings", false)).contains("tie_word_embeddings"));
        assertTrue(refused(() -> JsonFields.text(FILE, n, "t", "model_type", "llama")).contains("expected a string, found 3"));
    }
}
