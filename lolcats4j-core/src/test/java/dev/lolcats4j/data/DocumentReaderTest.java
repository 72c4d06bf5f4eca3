package dev.lolcats4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.tokenizer.ByteLevelTokenizerFiles;
import dev.lolcats4j.tokenizer.HfTokenizer;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading, masking and packing training data; malformed lines named by file and line. */
class DocumentReaderTest {

    @TempDir
    static Path tokenizerDir;
    static Tokenizer tokenizer;

    @BeforeAll
    static void tokenizer() {
        ByteLevelTokenizerFiles.write(tokenizerDir);
        tokenizer = HfTokenizer.load(tokenizerDir);
    }

    /** Byte-level ids worked out by hand: BOS, the UTF-8 bytes, EOS. */
    static int[] ids(String text, boolean bos) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int offset = bos ? 1 : 0;
        int[] out = new int[bytes.length + offset + 1];
        if (bos) {
            out[0] = ByteLevelTokenizerFiles.BOS;
        }
        for (int i = 0; i < bytes.length; i++) {
            out[i + offset] = bytes[i] & 0xFF;
        }
        out[out.length - 1] = ByteLevelTokenizerFiles.EOS;
        return out;
    }

    @Test
    void malformedJsonlLinesFailWithFileAndLine(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("data.jsonl");
        Files.writeString(file, "{\"text\": \"ok\"}\n{\"text\": \"fine\"}\n{\"text\": oops}\n{\"txt\": \"x\"}\n");
        DocumentReader strict = new DocumentReader(tokenizer, BadLinePolicy.FAIL, m -> { });
        BadInputException e = assertThrows(BadInputException.class, () -> strict.readAll(List.of(file)));
        assertTrue(e.getMessage().startsWith(file + ":3: not valid JSON"), e.getMessage());

        List<String> warnings = new ArrayList<>();
        List<Example> kept = new DocumentReader(tokenizer, BadLinePolicy.SKIP, warnings::add).readAll(List.of(file));
        assertEquals(2, kept.size());
        assertEquals(2, warnings.size());
        assertTrue(warnings.get(0).contains(file + ":3:"), warnings.get(0));
        assertTrue(warnings.get(1).contains(file + ":4:") && warnings.get(1).contains("\"text\""), warnings.get(1));
        assertArrayEquals(ids("fine", true), kept.get(1).tokens());
    }

    @Test
    void alpacaRecordsTrainOnTheResponseOnly(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("alpaca.json");
        Files.writeString(file, "[{\"instruction\": \"Say hi\", \"input\": \"\", \"output\": \"hi\"},"
                + " {\"instruction\": \"Add\", \"input\": \"1+1\", \"output\": \"2\"}]");
        List<Example> examples = new DocumentReader(tokenizer, BadLinePolicy.FAIL, m -> { }).readAll(List.of(file));
        assertEquals(2, examples.size());
        String prompt = String.format(DocumentReader.ALPACA_NO_INPUT, "Say hi");
        int promptTokens = prompt.getBytes(StandardCharsets.UTF_8).length + 1; // + BOS
        Example first = examples.get(0);
        assertEquals(promptTokens + 2 + 1, first.tokens().length); // "hi" + EOS
        for (int i = 0; i < first.tokens().length; i++) {
            assertEquals(i >= promptTokens, first.trainOn()[i], "token " + i);
        }
        assertEquals(ByteLevelTokenizerFiles.EOS, first.tokens()[first.tokens().length - 1]);
        assertTrue(new String(java.util.Arrays.copyOfRange(bytes(examples.get(1)), 0, 40), StandardCharsets.UTF_8)
                .startsWith("Below is an instruction"));
    }

    @Test
    void plainTextParagraphsArePackedWithoutLosingTokens(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("a.txt");
        Files.writeString(file, "abc\ndef\n\nghij\n");
        List<Example> examples = new DocumentReader(tokenizer, BadLinePolicy.FAIL, m -> { }).readAll(List.of(file));
        assertArrayEquals(ids("abc\ndef", true), examples.get(0).tokens());
        assertArrayEquals(ids("ghij", true), examples.get(1).tokens());

        PackedDataset.Packer packer = PackedDataset.packer(4);
        examples.forEach(packer);
        PackedDataset data = packer.finish(0, 1);
        // 10 + 6 = 16 tokens; sequences of 5 overlap by one token: 1 + 4k <= 16 -> 3 sequences.
        assertEquals(3, data.train().size());
        assertArrayEquals(new int[] {ByteLevelTokenizerFiles.BOS, 'a', 'b', 'c', '\n'}, data.train().get(0).tokens());
        assertArrayEquals(new int[] {'\n', 'd', 'e', 'f', ByteLevelTokenizerFiles.EOS}, data.train().get(1).tokens());
        assertArrayEquals(data.order(0), data.order(0));
    }

    @Test
    void jsonArrayRecordsAreStreamedAndErrorsNameTheirLine(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("records.json");
        Files.writeString(file, "[\n  {\"text\": \"one\"},\n  42,\n  {\"text\": \"two\"}\n]\n");
        BadInputException e = assertThrows(BadInputException.class,
                () -> new DocumentReader(tokenizer, BadLinePolicy.FAIL, m -> { }).readAll(List.of(file)));
        assertTrue(e.getMessage().startsWith(file + ":3: expected a JSON object"), e.getMessage());
        List<Example> kept = new DocumentReader(tokenizer, BadLinePolicy.SKIP, m -> { }).readAll(List.of(file));
        assertEquals(2, kept.size());
        assertArrayEquals(ids("two", true), kept.get(1).tokens());
    }

    @Test
    void missingDataIsAnError(@TempDir Path tmp) {
        BadInputException e = assertThrows(BadInputException.class,
                () -> new DocumentReader(tokenizer, BadLinePolicy.FAIL, m -> { }).readAll(List.of(tmp.resolve("nope.txt"))));
        assertTrue(e.getMessage().contains("nope.txt"), e.getMessage());
    }

    private static byte[] bytes(Example example) {
        byte[] out = new byte[example.tokens().length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (example.tokens()[i] < 256 ? example.tokens()[i] : '?');
        }
        return java.util.Arrays.copyOfRange(out, 1, out.length);
    }

    /** The byte-level tokenizer, recording the longest text it was given. */
    private static final class Recording implements Tokenizer {
        int longest;

        @Override
        public int[] encode(String text) {
            longest = Math.max(longest, text.length());
            return tokenizer.encode(text);
        }

        @Override
        public int[] encodeWithoutSpecial(String text) {
            longest = Math.max(longest, text.length());
            return tokenizer.encodeWithoutSpecial(text);
        }

        @Override
        public String decode(int[] ids) {
            return tokenizer.decode(ids);
        }

        @Override
        public int vocabSize() {
            return tokenizer.vocabSize();
        }

        @Override
        public java.util.OptionalInt bosId() {
            return tokenizer.bosId();
        }

        @Override
        public java.util.OptionalInt eosId() {
            return tokenizer.eosId();
        }

        @Override
        public void close() {}
    }

    private static int[] concatenated(List<Example> examples) {
        return examples.stream().flatMapToInt(e -> java.util.Arrays.stream(e.tokens())).toArray();
    }

    /**
     * Over-long documents are tokenized in bounded pieces and come out as the same token stream
     * (byte-level ids worked out by hand): one BOS, every byte, one EOS; with and without
     * whitespace to cut at, as a text paragraph and as a JSONL record; then the next document.
     */
    @Test
    void overLongDocumentsAreTokenizedInBoundedPieces(@TempDir Path tmp) throws IOException {
        StringBuilder words = new StringBuilder();
        for (int i = 0; words.length() < 5 * DocumentReader.MAX_PIECE_CHARS + 123; i++) {
            words.append("word").append(i % 97).append(i % 13 == 0 ? "\n" : " ");
        }
        String spaced = words.toString().strip();
        String solid = "x".repeat(3 * DocumentReader.MAX_PIECE_CHARS + 7) + "\u00e9\ud83d\ude00";
        for (String long1 : List.of(spaced, solid)) {
            Path text = tmp.resolve("long.txt");
            Files.writeString(text, long1 + "\n\n\nshort one\n");
            Path jsonl = tmp.resolve("long.jsonl");
            Files.writeString(jsonl, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(
                    java.util.Map.of("text", long1)) + "\n{\"text\": \"short one\"}\n");
            int[] first = ids(long1, true);
            int[] second = ids("short one", true);
            int[] expected = new int[first.length + second.length];
            System.arraycopy(first, 0, expected, 0, first.length);
            System.arraycopy(second, 0, expected, first.length, second.length);
            for (Path file : List.of(text, jsonl)) {
                Recording recording = new Recording();
                List<Example> examples = new DocumentReader(recording, BadLinePolicy.FAIL, m -> { }).readAll(List.of(file));
                assertTrue(examples.size() > 2, file + ": expected the long document in pieces, found " + examples.size());
                assertTrue(recording.longest <= DocumentReader.MAX_PIECE_CHARS, file + ": tokenized " + recording.longest + " chars at once");
                assertArrayEquals(expected, concatenated(examples), file.toString());
            }
        }
    }

    /** Paragraphs as before the streaming reader: blank (or whitespace-only) lines separate, CRLF is a line end. */
    @Test
    void paragraphsSplitAtBlankLines(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("p.txt");
        Files.writeString(file, "\n\n  first line\r\nsecond line\r\n   \r\nnext\n\n\n\nlast\n");
        List<Example> examples = new DocumentReader(tokenizer, BadLinePolicy.FAIL, m -> { }).readAll(List.of(file));
        assertEquals(3, examples.size());
        assertArrayEquals(ids("  first line\nsecond line", true), examples.get(0).tokens());
        assertArrayEquals(ids("next", true), examples.get(1).tokens());
        assertArrayEquals(ids("last", true), examples.get(2).tokens());
    }
}
