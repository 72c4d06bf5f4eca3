package dev.lolcats4j.tokenizer;

import ai.djl.engine.EngineException;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.BadInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer, run by the Rust tokenizers library through
 * DJL ({@code ai.djl.huggingface:tokenizers}; natives bundled in its jar, no network).
 *
 * <p>What {@link #load(Path)} reads from the model folder:
 * <ul>
 *   <li>{@code tokenizer.json} (required): vocabulary, normalizer, pre-tokenizer, model,
 *       decoder, post-processor. Any {@code truncation} or {@code padding} section in it is
 *       ignored: texts of any length are encoded whole.</li>
 *   <li>{@code tokenizer_config.json} (optional): {@code add_bos_token},
 *       {@code bos_token}, {@code eos_token} (strings or {@code {"content": ...}} objects) and
 *       {@code clean_up_tokenization_spaces} (default false).</li>
 *   <li>{@code generation_config.json}, then {@code config.json} (optional):
 *       {@code bos_token_id} / {@code eos_token_id} (a number or a list, whose first entry is
 *       used) when {@code tokenizer_config.json} does not name the token.</li>
 * </ul>
 *
 * <p>BOS, as Hugging Face {@code AutoTokenizer} adds it: when {@code add_bos_token} is given it
 * decides; when absent, the {@code tokenizer.json} post-processor decides (whatever special
 * tokens it puts before the text are prepended). EOS is never appended by {@link #encode}.
 *
 * <p>Native library and network. Before DJL is first touched this class sets, only where
 * neither the environment variable nor the system property of that name is already set:
 * <ul>
 *   <li>system property {@code DJL_CACHE_DIR} to
 *       {@code ${java.io.tmpdir}/lolcats4j-${user.name}/djl} (unless {@code ENGINE_CACHE_DIR}
 *       is set either), so DJL never writes to {@code ~/.djl.ai}. DJL 0.38 extracts
 *       {@code libtokenizers.so} to {@code Utils.getEngineCacheDir("tokenizers")}, that is
 *       {@code $ENGINE_CACHE_DIR/tokenizers/} if set, else {@code $DJL_CACHE_DIR/tokenizers/},
 *       else {@code ~/.djl.ai/tokenizers/}; each name is looked up first as an environment
 *       variable, then as a system property;</li>
 *   <li>{@code ai.djl.offline=true} (DJL's offline mode, env {@code DJL_OFFLINE}), which also
 *       disables DJL's telemetry call and forces the bundled CPU natives instead of a CUDA
 *       build that DJL would download from publish.djl.ai;</li>
 *   <li>{@code OPT_OUT_TRACKING=true} and {@code RUST_FLAVOR=cpu}, for the same two reasons in
 *       case offline mode is switched off.</li>
 * </ul>
 */
public final class HfTokenizer implements Tokenizer {

    static final String TOKENIZER_JSON = "tokenizer.json";
    static final String TOKENIZER_CONFIG_JSON = "tokenizer_config.json";
    static final String GENERATION_CONFIG_JSON = "generation_config.json";
    static final String CONFIG_JSON = "config.json";

    private static final ObjectMapper JSON = dev.lolcats4j.io.JsonFiles.strictMapper();

    static {
        configureDjl();
    }

    private final HuggingFaceTokenizer hf;
    private final Path modelDir;
    private final int[] prefixIds;
    private final int vocabSize;
    private final OptionalInt bosId;
    private final OptionalInt eosId;
    private final boolean cleanUpTokenizationSpaces;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HfTokenizer(HuggingFaceTokenizer hf, Path modelDir, int[] prefixIds, int vocabSize,
            OptionalInt bosId, OptionalInt eosId, boolean cleanUpTokenizationSpaces) {
        this.hf = hf;
        this.modelDir = modelDir;
        this.prefixIds = prefixIds;
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.eosId = eosId;
        this.cleanUpTokenizationSpaces = cleanUpTokenizationSpaces;
    }

    /**
     * Loads the tokenizer of a Hugging Face model folder.
     *
     * @param modelDir folder holding {@code tokenizer.json} (and optionally
     *     {@code tokenizer_config.json}, {@code generation_config.json}, {@code config.json})
     * @return the tokenizer; close it when done
     * @throws BadInputException if the folder or tokenizer.json is missing, or a file is
     *     malformed (the message names the file and the field)
     */
    public static HfTokenizer load(Path modelDir) {
        Objects.requireNonNull(modelDir, "modelDir");
        dev.lolcats4j.io.InputFiles.refuseSpecial(modelDir);
        if (!Files.isDirectory(modelDir)) {
            throw BadInputException.at(modelDir, "folder", "does not exist or is not a folder");
        }
        Path tokenizerJson = dev.lolcats4j.io.InputFiles.refuseSpecial(modelDir.resolve(TOKENIZER_JSON));
        if (!Files.isRegularFile(tokenizerJson)) {
            throw BadInputException.at(modelDir, TOKENIZER_JSON,
                    "missing: the folder has no tokenizer.json (a Hugging Face fast tokenizer file)");
        }
        byte[] tokenizerBytes;
        try {
            tokenizerBytes = Files.readAllBytes(tokenizerJson);
        } catch (IOException e) {
            throw BadInputException.at(tokenizerJson, "file", "cannot be read: " + oneLine(e));
        }
        JsonNode tokenizerTree = parse(tokenizerJson, tokenizerBytes);
        Map<String, Integer> tokenIds = tokenIds(tokenizerJson, tokenizerTree);
        int vocabSize = tokenIds.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;

        Path configPath = modelDir.resolve(TOKENIZER_CONFIG_JSON);
        JsonNode config = readOptional(configPath);
        Boolean addBos = optionalBoolean(configPath, config, "add_bos_token");
        boolean cleanUp = Boolean.TRUE.equals(
                optionalBoolean(configPath, config, "clean_up_tokenization_spaces"));
        OptionalInt bosId = specialTokenId(modelDir, configPath, config, "bos_token", tokenIds, vocabSize);
        OptionalInt eosId = specialTokenId(modelDir, configPath, config, "eos_token", tokenIds, vocabSize);

        HuggingFaceTokenizer hf = createNative(tokenizerJson, tokenizerBytes);
        try {
            int[] prefix;
            if (addBos == null) {
                prefix = postProcessorPrefix(hf);
            } else if (addBos) {
                if (bosId.isEmpty()) {
                    throw BadInputException.at(configPath, "add_bos_token",
                            "is true but no bos_token is defined");
                }
                prefix = new int[] {bosId.getAsInt()};
            } else {
                prefix = new int[0];
            }
            return new HfTokenizer(hf, modelDir, prefix, vocabSize, bosId, eosId, cleanUp);
        } catch (RuntimeException e) {
            hf.close();
            throw e;
        }
    }

    @Override
    public int[] encode(String text) {
        int[] body = encodeWithoutSpecial(text);
        if (prefixIds.length == 0) {
            return body;
        }
        int[] ids = Arrays.copyOf(prefixIds, prefixIds.length + body.length);
        System.arraycopy(body, 0, ids, prefixIds.length, body.length);
        return ids;
    }

    @Override
    public int[] encodeWithoutSpecial(String text) {
        Objects.requireNonNull(text, "text");
        ensureOpen();
        Encoding encoding = hf.encode(text, false, false);
        return toInts(encoding.getIds());
    }

    @Override
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        ensureOpen();
        long[] longIds = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocabSize + ")");
            }
            longIds[i] = ids[i];
        }
        String text = hf.decode(longIds, true);
        return cleanUpTokenizationSpaces ? cleanUp(text) : text;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public OptionalInt bosId() {
        return bosId;
    }

    @Override
    public OptionalInt eosId() {
        return eosId;
    }

    /** {@return the ids {@link #encode} puts before the text: the BOS id, or nothing} */
    public int[] prefixIds() {
        return prefixIds.clone();
    }

    /** {@return the model folder this tokenizer was loaded from} */
    public Path modelDir() {
        return modelDir;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            hf.close();
        }
    }

    @Override
    public String toString() {
        return "HfTokenizer[" + modelDir + ", vocabSize=" + vocabSize + ", bos=" + bosId
                + ", eos=" + eosId + ", prefix=" + Arrays.toString(prefixIds) + "]";
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("tokenizer of " + modelDir + " is closed");
        }
    }

    // ---- DJL ----------------------------------------------------------------------------

    private static void configureDjl() {
        if (isUnset("ENGINE_CACHE_DIR") && isUnset("DJL_CACHE_DIR")) {
            Path dir = Path.of(System.getProperty("java.io.tmpdir"),
                    "lolcats4j-" + System.getProperty("user.name", "user"), "djl");
            System.setProperty("DJL_CACHE_DIR", dir.toString());
        }
        if (isUnset("DJL_OFFLINE") && isUnset("ai.djl.offline")) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (isUnset("OPT_OUT_TRACKING")) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        if (isUnset("RUST_FLAVOR")) {
            System.setProperty("RUST_FLAVOR", "cpu");
        }
    }

    /** As DJL's Utils.getEnvOrSystemProperty: environment first, then system property. */
    private static boolean isUnset(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            value = System.getProperty(name);
        }
        return value == null || value.isEmpty();
    }

    private static HuggingFaceTokenizer createNative(Path tokenizerJson, byte[] bytes) {
        // No TokenizerConfig is passed: DJL would otherwise rewrite the text in Java
        // (prefix space, lower case, accent stripping) and cap lengths at model_max_length.
        Map<String, String> options = Map.of(
                "addSpecialTokens", "false",
                "truncation", "false",
                "padding", "false",
                "withOverflowingTokens", "false");
        try {
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options);
        } catch (EngineException e) {
            throw e; // native library problem, not the user's file
        } catch (IOException | RuntimeException e) {
            throw BadInputException.at(tokenizerJson, "tokenizer",
                    "not accepted by the Hugging Face tokenizers library: " + oneLine(e));
        }
    }

    /** Special tokens the post-processor puts before a single sequence. */
    private static int[] postProcessorPrefix(HuggingFaceTokenizer hf) {
        Encoding probe = hf.encode("a", true, false);
        long[] ids = probe.getIds();
        long[] special = probe.getSpecialTokenMask();
        int n = 0;
        while (n < ids.length && special[n] == 1) {
            n++;
        }
        return toInts(Arrays.copyOf(ids, n));
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    // ---- JSON files ---------------------------------------------------------------------

    private static JsonNode parse(Path file, byte[] bytes) {
        try {
            JsonNode tree = JSON.readTree(bytes);
            if (tree == null || !tree.isObject()) {
                throw BadInputException.at(file, "json", "expected a JSON object");
            }
            return tree;
        } catch (IOException e) {
            throw BadInputException.at(file, "json", "not valid JSON: " + oneLine(e));
        }
    }

    private static JsonNode readOptional(Path file) {
        dev.lolcats4j.io.InputFiles.refuseSpecial(file);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return parse(file, Files.readAllBytes(file));
        } catch (IOException e) {
            throw BadInputException.at(file, "file", "cannot be read: " + oneLine(e));
        }
    }

    /** Token string to id, from model.vocab and added_tokens. */
    private static Map<String, Integer> tokenIds(Path file, JsonNode tree) {
        Map<String, Integer> ids = new HashMap<>();
        JsonNode vocab = tree.path("model").path("vocab");
        if (vocab.isObject()) { // BPE, WordPiece, WordLevel
            vocab.properties().forEach(e -> {
                if (!e.getValue().canConvertToInt()) {
                    throw BadInputException.at(file, "model.vocab." + e.getKey(),
                            "expected an integer id, found " + e.getValue());
                }
                ids.put(e.getKey(), e.getValue().intValue());
            });
        } else if (vocab.isArray()) { // Unigram: [[piece, score], ...], id = index
            for (int i = 0; i < vocab.size(); i++) {
                ids.putIfAbsent(vocab.get(i).path(0).asText(), i);
            }
        } else {
            throw BadInputException.at(file, "model.vocab", "missing (expected an object or a list)");
        }
        for (JsonNode added : tree.path("added_tokens")) {
            if (!added.path("content").isTextual() || !added.path("id").canConvertToInt()) {
                throw BadInputException.at(file, "added_tokens",
                        "expected entries with \"content\" and \"id\", found " + added);
            }
            ids.put(added.get("content").asText(), added.get("id").intValue());
        }
        ids.forEach((token, id) -> {
            if (id < 0) {
                throw BadInputException.at(file, "model.vocab", "token \"" + token + "\" has the negative id " + id);
            }
        });
        return ids;
    }

    private static Boolean optionalBoolean(Path file, JsonNode tree, String field) {
        if (tree == null || !tree.hasNonNull(field)) {
            return null;
        }
        JsonNode node = tree.get(field);
        if (!node.isBoolean()) {
            throw BadInputException.at(file, field, "expected true or false, found " + node);
        }
        return node.booleanValue();
    }

    /**
     * Id of bos_token / eos_token: named in tokenizer_config.json, else the *_token_id of
     * generation_config.json, else of config.json.
     */
    private static OptionalInt specialTokenId(Path modelDir, Path configPath, JsonNode config,
            String field, Map<String, Integer> tokenIds, int vocabSize) {
        if (config != null && config.hasNonNull(field)) {
            JsonNode node = config.get(field);
            if (node.isObject()) {
                node = node.path("content");
            }
            if (!node.isTextual()) {
                throw BadInputException.at(configPath, field,
                        "expected a token string or {\"content\": ...}, found " + config.get(field));
            }
            Integer id = tokenIds.get(node.asText());
            if (id == null) {
                throw BadInputException.at(configPath, field,
                        "token \"" + node.asText() + "\" is not in tokenizer.json");
            }
            return OptionalInt.of(id);
        }
        String idField = field + "_id";
        for (String name : new String[] {GENERATION_CONFIG_JSON, CONFIG_JSON}) {
            Path file = modelDir.resolve(name);
            JsonNode tree = readOptional(file);
            if (tree == null || !tree.hasNonNull(idField)) {
                continue;
            }
            JsonNode node = tree.get(idField);
            if (node.isArray() && !node.isEmpty()) {
                node = node.get(0);
            }
            if (!node.canConvertToInt() || !node.isIntegralNumber()
                    || node.intValue() < 0 || node.intValue() >= vocabSize) {
                throw BadInputException.at(file, idField,
                        "expected a token id in [0, " + vocabSize + ") or a list of them, found "
                                + tree.get(idField));
            }
            return OptionalInt.of(node.intValue());
        }
        return OptionalInt.empty();
    }

    /** Hugging Face's clean_up_tokenization (PreTrainedTokenizerBase). */
    static String cleanUp(String text) {
        return text.replace(" .", ".")
                .replace(" ?", "?")
                .replace(" !", "!")
                .replace(" ,", ",")
                .replace(" ' ", "'")
                .replace(" n't", "n't")
                .replace(" 'm", "'m")
                .replace(" 's", "'s")
                .replace(" 've", "'ve")
                .replace(" 're", "'re");
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replaceAll("\\s+", " ").trim();
    }
}
