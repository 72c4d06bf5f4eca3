package dev.lolcats4j.tokenizer;

import static dev.lolcats4j.tokenizer.TestTokenizers.byteToken;
import static dev.lolcats4j.tokenizer.TestTokenizers.copyWith;
import static dev.lolcats4j.tokenizer.TestTokenizers.id;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {

    private static Map<String, Integer> vocab;
    private static HfTokenizer tok;

    @BeforeAll
    static void load() {
        vocab = TestTokenizers.vocab();
        tok = HfTokenizer.load(TestTokenizers.llama2Dir());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @Test
    void roundTripsText() {
        List<String> texts = List.of(
                "Hello world",
                " Hello",
                "   three leading spaces and two trailing  ",
                "café, crème brûlée, naïve, Ærø",
                "日本語のテキストです。",
                "emoji 😀🎉 and a clef 𝄞",
                "tabs\tand\nnew lines\n\n",
                "");
        for (String text : texts) {
            assertEquals(text, tok.decode(tok.encodeWithoutSpecial(text)), "without special: " + text);
            assertEquals(text, tok.decode(tok.encode(text)), "with BOS: " + text);
        }
    }

    @Test
    void addsBosOnlyInEncode() {
        int bos = id(vocab, "<s>");
        assertEquals(1, bos);
        assertEquals(OptionalInt.of(bos), tok.bosId());
        assertEquals(OptionalInt.of(id(vocab, "</s>")), tok.eosId());

        int[] withBos = tok.encode("Hello");
        int[] without = tok.encodeWithoutSpecial("Hello");
        assertEquals(bos, withBos[0]);
        assertNotEquals(bos, without[0]);
        assertArrayEquals(without, Arrays.copyOfRange(withBos, 1, withBos.length));
        assertArrayEquals(new int[] {bos}, tok.encode(""));
        assertArrayEquals(new int[0], tok.encodeWithoutSpecial(""));
    }

    @Test
    void specialTokenTextIsASpecialToken() {
        // As in Hugging Face: "<s>" written in the text is the BOS token, and decode drops it.
        int[] ids = tok.encodeWithoutSpecial("<s>Hi");
        assertEquals(id(vocab, "<s>"), ids[0]);
        assertEquals("Hi", tok.decode(ids));
    }

    @Test
    void addBosTokenFalseMeansNoBos(@TempDir Path dir) throws IOException {
        copyWith(dir, c -> c.put("add_bos_token", false), t -> { });
        try (HfTokenizer noBos = HfTokenizer.load(dir)) {
            assertArrayEquals(noBos.encodeWithoutSpecial("Hello"), noBos.encode("Hello"));
            assertNotEquals(1, noBos.encode("Hello")[0]);
            assertEquals(OptionalInt.of(1), noBos.bosId());
        }
    }

    @Test
    void withoutAddBosTokenThePostProcessorDecides(@TempDir Path dir) throws IOException {
        Path keep = Files.createDirectory(dir.resolve("keep"));
        copyWith(keep, c -> c.remove("add_bos_token"), t -> { });
        try (HfTokenizer t = HfTokenizer.load(keep)) {
            assertEquals(1, t.encode("Hello")[0], "post_processor template starts with <s>");
        }
        Path none = Files.createDirectory(dir.resolve("none"));
        copyWith(none, c -> c.remove("add_bos_token"), t -> t.putNull("post_processor"));
        try (HfTokenizer t = HfTokenizer.load(none)) {
            assertArrayEquals(t.encodeWithoutSpecial("Hello"), t.encode("Hello"));
        }
    }

    @Test
    void idsComeFromTheVocabulary() {
        assertArrayEquals(
                new int[] {id(vocab, "<s>"), id(vocab, "▁Hello"), id(vocab, "▁world")},
                tok.encode("Hello world"));
        assertArrayEquals(
                new int[] {id(vocab, "▁Hello"), id(vocab, ","), id(vocab, "▁world")},
                tok.encodeWithoutSpecial("Hello, world"));
    }

    @Test
    void unknownCharactersFallBackToByteTokens() {
        String clef = "𝄞"; // U+1D11E, F0 9D 84 9E in UTF-8
        assertFalse(vocab.containsKey(clef));
        assertFalse(vocab.containsKey("▁" + clef));
        byte[] utf8 = clef.getBytes(StandardCharsets.UTF_8);
        int[] expected = IntStream.concat(
                IntStream.of(id(vocab, "▁")),
                IntStream.range(0, utf8.length).map(i -> id(vocab, byteToken(utf8[i])))).toArray();
        assertArrayEquals(expected, tok.encodeWithoutSpecial(clef));
        assertEquals(clef, tok.decode(expected));
    }

    @Test
    void longTextsAreNotTruncated() {
        int n = 1500; // beyond DJL's default cap of 512 tokens
        int[] expected = IntStream.concat(
                IntStream.generate(() -> id(vocab, "▁word")).limit(n),
                IntStream.of(id(vocab, "▁"))).toArray();
        assertArrayEquals(expected, tok.encodeWithoutSpecial("word ".repeat(n)));
    }

    @Test
    void truncationInTokenizerJsonIsIgnored(@TempDir Path dir) throws IOException {
        copyWith(dir, c -> { }, t -> {
            ObjectNode trunc = t.putObject("truncation");
            trunc.put("direction", "Right").put("max_length", 4).put("strategy", "LongestFirst").put("stride", 0);
        });
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            String text = "one two three four five six seven eight";
            assertArrayEquals(tok.encode(text), t.encode(text));
            assertTrue(t.encode(text).length > 4);
        }
    }

    @Test
    void decodeSkipsSpecialTokens() {
        int[] ids = {id(vocab, "<s>"), id(vocab, "▁Hello"), id(vocab, "▁world"), id(vocab, "</s>")};
        assertEquals("Hello world", tok.decode(ids));
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {32000}));
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {-1}));
    }

    @Test
    void vocabSizeCoversAllIds() {
        int maxId = vocab.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertEquals(maxId + 1, tok.vocabSize());
        assertEquals(32000, tok.vocabSize());
    }

    @Test
    void missingTokenizerJsonNamesTheFolder(@TempDir Path dir) {
        BadInputException e = assertThrows(BadInputException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().startsWith(dir + ": tokenizer.json: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        Path absent = dir.resolve("absent");
        e = assertThrows(BadInputException.class, () -> HfTokenizer.load(absent));
        assertTrue(e.getMessage().startsWith(absent.toString()), e.getMessage());
    }

    @Test
    void badConfigValuesNameFileAndField(@TempDir Path dir) throws IOException {
        Path a = Files.createDirectory(dir.resolve("a"));
        copyWith(a, c -> c.put("add_bos_token", "yes"), t -> { });
        BadInputException e = assertThrows(BadInputException.class, () -> HfTokenizer.load(a));
        assertTrue(e.getMessage().startsWith(a.resolve("tokenizer_config.json") + ": add_bos_token: "),
                e.getMessage());

        Path b = Files.createDirectory(dir.resolve("b"));
        copyWith(b, c -> c.put("eos_token", "<nope>"), t -> { });
        e = assertThrows(BadInputException.class, () -> HfTokenizer.load(b));
        assertTrue(e.getMessage().startsWith(b.resolve("tokenizer_config.json") + ": eos_token: "),
                e.getMessage());

        Path c = Files.createDirectory(dir.resolve("c"));
        Files.writeString(c.resolve("tokenizer.json"), "{\"model\": ");
        e = assertThrows(BadInputException.class, () -> HfTokenizer.load(c));
        assertTrue(e.getMessage().startsWith(c.resolve("tokenizer.json") + ": "), e.getMessage());
    }

    @Test
    void specialTokensAsObjectsAndEosFromGenerationConfig(@TempDir Path dir) throws IOException {
        copyWith(dir, c -> {
            c.putObject("bos_token").put("content", "<s>").put("special", true);
            c.remove("eos_token");
        }, t -> { });
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [7, 2]}");
        Files.writeString(dir.resolve("config.json"), "{\"eos_token_id\": 9}");
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertEquals(OptionalInt.of(1), t.bosId());
            assertEquals(OptionalInt.of(7), t.eosId());
        }
        Files.delete(dir.resolve("generation_config.json"));
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertEquals(OptionalInt.of(9), t.eosId());
        }
    }

    @Test
    void closeIsIdempotentAndFinal() {
        HfTokenizer t = HfTokenizer.load(TestTokenizers.llama2Dir());
        t.close();
        t.close();
        assertThrows(IllegalStateException.class, () -> t.encode("x"));
    }

    @Test
    void nativeLibraryIsExtractedToTheConfiguredCacheDir() throws IOException {
        String cacheDir = System.getenv("DJL_CACHE_DIR");
        if (cacheDir == null) {
            cacheDir = System.getProperty("DJL_CACHE_DIR");
        }
        assertTrue(cacheDir != null && !cacheDir.isEmpty(), "DJL_CACHE_DIR should be set by HfTokenizer or the build");
        Path tokenizers = Path.of(cacheDir, "tokenizers");
        try (Stream<Path> files = Files.walk(tokenizers)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("libtokenizers")),
                    "no libtokenizers under " + tokenizers);
        }
    }
}
