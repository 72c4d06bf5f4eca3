package dev.lolcats4j.tokenizer;

import java.util.OptionalInt;

/**
 * Converts text to token ids and back, as the model's Hugging Face tokenizer does.
 *
 * <p>Implementations hold native memory: use try-with-resources. Encoding and decoding may be
 * called from several threads at once, but not concurrently with {@link #close()}.
 */
public interface Tokenizer extends AutoCloseable {

    /**
     * Encodes text the way the model expects a prompt: prepends the BOS token if and only if
     * the model's tokenizer configuration says so ({@code add_bos_token} in
     * {@code tokenizer_config.json}, else the {@code tokenizer.json} post-processor). Never
     * appends EOS. Special-token strings in the text (such as {@code "<s>"}) are recognised as
     * special tokens, as in Hugging Face.
     *
     * @param text any text, possibly empty
     * @return the token ids
     */
    int[] encode(String text);

    /**
     * Encodes text without adding any special token (no BOS, no EOS): for continuations that
     * are appended to an already encoded context, as in evaluation.
     *
     * @param text any text, possibly empty
     * @return the token ids
     */
    int[] encodeWithoutSpecial(String text);

    /**
     * Decodes ids to text, skipping special tokens (BOS, EOS, ...).
     *
     * @param ids token ids, each in {@code [0, vocabSize())}
     * @return the text; incomplete UTF-8 byte sequences at the end decode to U+FFFD
     * @throws IllegalArgumentException if an id is outside the vocabulary
     */
    String decode(int[] ids);

    /**
     * {@return the number of distinct ids: one more than the largest id of the vocabulary and
     * the added tokens (like {@code len(tokenizer)} in Hugging Face)}
     */
    int vocabSize();

    /** {@return the beginning-of-sequence token id, if the model defines one} */
    OptionalInt bosId();

    /** {@return the end-of-sequence token id, if the model defines one (generation stops there)} */
    OptionalInt eosId();

    /** Frees the native tokenizer; idempotent. The tokenizer is unusable afterwards. */
    @Override
    void close();
}
