package dev.lolcats4j.server;

import dev.lolcats4j.tokenizer.StreamingDecoder;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.util.Optional;

/**
 * Generated ids to response text, one id at a time: decoded text through the model's
 * tokenizer, or, for a model folder without one, the ids comma-separated (as
 * {@code lolcats generate} prints them).
 */
final class TextStream {

    private final StreamingDecoder decoder;
    private final int tokenizerVocab;
    private boolean first = true;

    TextStream(Optional<Tokenizer> tokenizer) {
        this.decoder = tokenizer.map(StreamingDecoder::new).orElse(null);
        this.tokenizerVocab = tokenizer.map(Tokenizer::vocabSize).orElse(0);
    }

    String push(int id) {
        if (decoder == null) {
            String text = first ? Integer.toString(id) : "," + id;
            first = false;
            return text;
        }
        // A model's vocabulary may be padded beyond its tokenizer's: such ids have no text.
        return id < tokenizerVocab ? decoder.push(id) : "";
    }

    String flush() {
        return decoder == null ? "" : decoder.flush();
    }
}
