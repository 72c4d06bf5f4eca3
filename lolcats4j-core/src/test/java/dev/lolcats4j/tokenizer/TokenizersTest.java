package dev.lolcats4j.tokenizer;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizersTest {

    @Test
    void findsTokenizerJson() {
        Optional<Tokenizer> t = Tokenizers.forModel(TestTokenizers.llama2Dir());
        assertTrue(t.isPresent());
        try (Tokenizer tokenizer = t.get()) {
            assertInstanceOf(HfTokenizer.class, tokenizer);
        }
    }

    @Test
    void emptyWithoutTokenizerJson(@TempDir Path dir) {
        assertTrue(Tokenizers.forModel(dir).isEmpty());
        assertTrue(Tokenizers.forModel(dir.resolve("absent")).isEmpty());
    }
}
