package dev.lolcats4j.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.io.AtomicFiles;
import java.nio.file.Path;

/**
 * Writes a byte-level tokenizer (one token per byte, no merges, plus {@code <s>}, {@code </s>},
 * {@code <pad>}) as a Hugging Face tokenizer.json + tokenizer_config.json, so that models the
 * project pretrains itself have a real tokenizer that any HF-compatible tool can load.
 * Ids: bytes 0..255, then BOS 256, EOS 257, PAD 258.
 */
public final class ByteLevelTokenizerFiles {

    public static final int BOS = 256;
    public static final int EOS = 257;
    public static final int PAD = 258;
    public static final int VOCAB_SIZE = 259;

    private static final ObjectMapper JSON = new ObjectMapper();

    private ByteLevelTokenizerFiles() {}

    public static void write(Path dir) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        addSpecial(added, BOS, "<s>");
        addSpecial(added, EOS, "</s>");
        addSpecial(added, PAD, "<pad>");
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", false);
        pre.put("use_regex", false);
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", false);
        decoder.put("trim_offsets", false);
        decoder.put("use_regex", false);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        String[] symbols = byteSymbols();
        for (int b = 0; b < 256; b++) {
            vocab.put(symbols[b], b);
        }
        vocab.put("<s>", BOS);
        vocab.put("</s>", EOS);
        vocab.put("<pad>", PAD);
        model.putArray("merges");
        AtomicFiles.writeString(dir.resolve("tokenizer.json"), root.toPrettyString());

        ObjectNode config = JSON.createObjectNode();
        config.put("add_bos_token", true);
        config.put("add_eos_token", false);
        config.put("bos_token", "<s>");
        config.put("eos_token", "</s>");
        config.put("pad_token", "<pad>");
        config.put("clean_up_tokenization_spaces", false);
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        AtomicFiles.writeString(dir.resolve("tokenizer_config.json"), config.toPrettyString());
    }

    private static void addSpecial(ArrayNode added, int id, String content) {
        ObjectNode token = added.addObject();
        token.put("id", id);
        token.put("content", content);
        token.put("single_word", false);
        token.put("lstrip", false);
        token.put("rstrip", false);
        token.put("normalized", false);
        token.put("special", true);
    }

    /**
     * GPT-2's byte-to-unicode table: printable bytes map to themselves, the others to
     * code points from 256 up, so every byte is a visible one-character token.
     */
    static String[] byteSymbols() {
        String[] symbols = new String[256];
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            symbols[b] = new String(Character.toChars(printable ? b : 256 + next++));
        }
        return symbols;
    }
}
