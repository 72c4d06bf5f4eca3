package dev.lolcats4j.tokenizer;

import java.util.Arrays;
import java.util.Objects;

/**
 * Turns token ids into text one id at a time, emitting only text that is final: never half
 * of a UTF-8 character (byte-fallback tokens such as {@code <0xE2>} that together form one
 * character are held back until the character is complete), and with the right spaces
 * between pieces (SentencePiece {@code ▁} tokens decode to a leading space only after other
 * text).
 *
 * <p>Method: keep the ids since the last emitted point plus the one id before it as context;
 * after each push decode that window and the context alone, and emit what the window adds
 * beyond the context, unless it ends in U+FFFD (an incomplete byte sequence). When the ids
 * decode to valid UTF-8, the concatenation of all {@link #push} results and the final
 * {@link #flush} equals {@code tokenizer.decode(allIds)}. With invalid byte sequences (a model
 * can generate them) the output differs only around them: text already emitted is never
 * taken back, whereas a whole decode turns every byte of an invalid run into U+FFFD.
 *
 * <p>Not thread-safe; one instance per generated sequence.
 */
public final class StreamingDecoder {

    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private int[] ids = new int[16];
    private int size;
    /** ids[prefixOffset, readOffset) is context that has been emitted already. */
    private int prefixOffset;
    /** ids[readOffset, size) have not been emitted yet. */
    private int readOffset;

    /**
     * Starts an empty stream.
     *
     * @param tokenizer the tokenizer that produced the ids; not closed by this decoder
     */
    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    }

    /**
     * Adds one id and returns the text that became final with it.
     *
     * @param id a token id of the tokenizer
     * @return new text, possibly empty (for special tokens, or while a multi-byte character is
     *     incomplete)
     */
    public String push(int id) {
        append(id);
        String context = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset));
        String window = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size));
        if (window.length() <= context.length()
                || window.charAt(window.length() - 1) == REPLACEMENT) {
            return "";
        }
        String fresh = fresh(context, window);
        prefixOffset = readOffset;
        readOffset = size;
        compact();
        return fresh;
    }

    /**
     * Returns whatever has not been emitted yet (for example an incomplete character, as
     * U+FFFD) and resets the decoder, so the next {@link #push} starts a new text.
     *
     * @return the remaining text, possibly empty
     */
    public String flush() {
        String rest = "";
        if (readOffset < size) {
            String context = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset));
            String window = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size));
            if (window.length() > context.length()) {
                rest = fresh(context, window);
            }
        }
        size = 0;
        prefixOffset = 0;
        readOffset = 0;
        return rest;
    }

    /**
     * What the window adds to the context. Normally the context is a prefix of the window; it
     * is not when new byte-fallback tokens make a run of bytes invalid UTF-8 (the decoder then
     * turns every byte of the run into U+FFFD, including already emitted ones), and then the
     * unemitted ids are decoded on their own.
     */
    private String fresh(String context, String window) {
        if (window.startsWith(context)) {
            return window.substring(context.length());
        }
        return tokenizer.decode(Arrays.copyOfRange(ids, readOffset, size));
    }

    private void append(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, ids.length * 2);
        }
        ids[size++] = id;
    }

    /** Drops ids before the context so memory stays bounded on long generations. */
    private void compact() {
        if (prefixOffset > 0) {
            System.arraycopy(ids, prefixOffset, ids, 0, size - prefixOffset);
            size -= prefixOffset;
            readOffset -= prefixOffset;
            prefixOffset = 0;
        }
    }
}
