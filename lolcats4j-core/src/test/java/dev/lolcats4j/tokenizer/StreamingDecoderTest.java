package dev.lolcats4j.tokenizer;

import static dev.lolcats4j.tokenizer.TestTokenizers.byteToken;
import static dev.lolcats4j.tokenizer.TestTokenizers.id;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {

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
    void piecesConcatenateToTheFullDecode() {
        Set<Integer> byteIds = IntStream.range(0, 256).mapToObj(b -> id(vocab, byteToken(b)))
                .collect(Collectors.toSet());
        for (String text : List.of(
                "Grüße aus 日本 😀🎉 — naïve café 𝄞 end",
                "  leading spaces, then 𝄞𝄞 twice\nand a new line",
                "plain ascii text")) {
            int[] ids = tok.encode(text);
            StreamingDecoder decoder = new StreamingDecoder(tok);
            StringBuilder out = new StringBuilder();
            List<String> pieces = new ArrayList<>();
            for (int id : ids) {
                String piece = decoder.push(id);
                assertFalse(piece.contains("\uFFFD"), "half a character emitted: " + piece);
                pieces.add(piece);
                out.append(piece);
            }
            out.append(decoder.flush());
            assertEquals(tok.decode(ids), out.toString(), "pieces " + pieces);
            assertEquals(text, out.toString());
            boolean hasByteTokens = IntStream.of(ids).anyMatch(byteIds::contains);
            if (!text.startsWith("plain")) {
                assertTrue(hasByteTokens, "test text should exercise byte fallback");
            }
        }
    }

    @Test
    void spacesBetweenPiecesAreKept() {
        StreamingDecoder decoder = new StreamingDecoder(tok);
        assertEquals("", decoder.push(id(vocab, "<s>")));
        assertEquals("Hello", decoder.push(id(vocab, "▁Hello")));
        assertEquals(" world", decoder.push(id(vocab, "▁world")));
        assertEquals("", decoder.push(id(vocab, "</s>")));
        assertEquals("", decoder.flush());
    }

    @Test
    void multiByteCharacterIsHeldUntilComplete() {
        StreamingDecoder decoder = new StreamingDecoder(tok);
        assertEquals("a", decoder.push(id(vocab, "▁a")));
        byte[] utf8 = "€".getBytes(java.nio.charset.StandardCharsets.UTF_8); // E2 82 AC
        assertEquals("", decoder.push(id(vocab, byteToken(utf8[0]))));
        assertEquals("", decoder.push(id(vocab, byteToken(utf8[1]))));
        assertEquals("€", decoder.push(id(vocab, byteToken(utf8[2]))));
        assertEquals("", decoder.push(id(vocab, byteToken(utf8[0]))));
        // An incomplete character stays visible at the end, as one U+FFFD for its one byte.
        assertEquals("\uFFFD", decoder.flush());
        // After flush the decoder starts a new text: no leading space.
        assertEquals("Hello", decoder.push(id(vocab, "▁Hello")));
    }
}
