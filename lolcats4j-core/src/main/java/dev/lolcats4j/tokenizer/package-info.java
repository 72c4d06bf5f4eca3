/**
 * Text to token ids and back.
 *
 * <p>{@link dev.lolcats4j.tokenizer.Tokenizer} is the small interface the rest of the library
 * uses; {@link dev.lolcats4j.tokenizer.HfTokenizer} implements it over a Hugging Face
 * {@code tokenizer.json} (the Rust tokenizers library, through DJL), and
 * {@link dev.lolcats4j.tokenizer.StreamingDecoder} turns generated ids into text one token at a
 * time without ever emitting half a character.
 */
package dev.lolcats4j.tokenizer;
