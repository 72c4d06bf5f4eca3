package dev.lolcats4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/** The bundled Llama-2-style (Mistral vocabulary) tokenizer folder and its vocabulary. */
final class TestTokenizers {

    static final ObjectMapper JSON = new ObjectMapper();

    private TestTokenizers() {
    }

    /** Folder with tokenizer.json and tokenizer_config.json (add_bos_token true). */
    static Path llama2Dir() {
        URL url = TestTokenizers.class.getResource("/tokenizer/llama2/tokenizer.json");
        if (url == null) {
            throw new IllegalStateException("test resource tokenizer/llama2/tokenizer.json missing");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Token string to id, read straight from tokenizer.json (model.vocab + added_tokens). */
    static Map<String, Integer> vocab() {
        try {
            JsonNode tree = JSON.readTree(llama2Dir().resolve("tokenizer.json").toFile());
            Map<String, Integer> vocab = new HashMap<>();
            tree.get("model").get("vocab").properties()
                    .forEach(e -> vocab.put(e.getKey(), e.getValue().intValue()));
            for (JsonNode added : tree.get("added_tokens")) {
                vocab.put(added.get("content").asText(), added.get("id").intValue());
            }
            return vocab;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Id of a vocabulary entry; fails the test if the entry is absent. */
    static int id(Map<String, Integer> vocab, String token) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new AssertionError("token " + token + " is not in the vocabulary");
        }
        return id;
    }

    /** Byte-fallback token name, e.g. "<0xE2>". */
    static String byteToken(int b) {
        return String.format("<0x%02X>", b & 0xFF);
    }

    /**
     * Copies the bundled folder into {@code dir}, letting {@code editConfig} and
     * {@code editTokenizer} change tokenizer_config.json and tokenizer.json.
     */
    static Path copyWith(Path dir, Consumer<ObjectNode> editConfig, Consumer<ObjectNode> editTokenizer)
            throws IOException {
        Path src = llama2Dir();
        for (String name : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            ObjectNode tree = (ObjectNode) JSON.readTree(src.resolve(name).toFile());
            (name.equals("tokenizer.json") ? editTokenizer : editConfig).accept(tree);
            Files.write(dir.resolve(name), JSON.writeValueAsBytes(tree));
        }
        return dir;
    }
}
