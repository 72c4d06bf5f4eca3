package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.tokenizer.ByteLevelTokenizerFiles;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The classes of hostile input from issue 9's "check before work" list, one test per class:
 * each asserts exit code 2, exactly one {@code error:} line naming the flag, file or field, and
 * that neither the output nor any input folder changed.
 */
class HostileInputTest {

    @TempDir
    Path tmp;

    // ---- options --------------------------------------------------------------------------

    /** Every numeric option of every command is parsed by a range-checked converter (Flags). */
    @Test
    void everyNumericOptionOfEveryCommandHasARange() {
        CommandLine root = Main.commandLine(System.out, System.err);
        List<String> unchecked = new ArrayList<>();
        int numeric = 0;
        for (CommandLine sub : root.getSubcommands().values()) {
            for (OptionSpec option : sub.getCommandSpec().options()) {
                Class<?> type = option.type();
                Class<?> element = option.auxiliaryTypes().length > 0 ? option.auxiliaryTypes()[0] : type;
                boolean isNumber = isNumber(type) || (List.class.isAssignableFrom(type) && isNumber(element));
                if (!isNumber) {
                    continue;
                }
                numeric++;
                CommandLine.ITypeConverter<?>[] converters = option.converters();
                boolean ranged = converters != null && converters.length > 0
                        && converters[0].getClass().getEnclosingClass() == Flags.class;
                if (!ranged) {
                    unchecked.add(sub.getCommandName() + " " + option.longestName());
                }
            }
        }
        assertTrue(numeric > 40, "found only " + numeric + " numeric options; the scan is broken");
        assertEquals(List.of(), unchecked, "numeric options without a Flags range converter");
    }

    private static boolean isNumber(Class<?> c) {
        return c == int.class || c == Integer.class || c == long.class || c == Long.class
                || c == double.class || c == Double.class || c == float.class || c == Float.class;
    }

    /** NaN, infinities, zero, negatives, overflow and too-large values: exit 2 naming the flag and its range. */
    @Test
    void numericFlagsOutOfRangeFailWhileParsing() throws IOException {
        Path data = data();
        Path out = tmp.resolve("out");
        String model = Cli.model().toString();
        String[] linearize = {"linearize", "--model", model, "--data", data.toString(), "--out", out.toString()};
        String[] pretrain = {"pretrain", "--data", data.toString(), "--out", out.toString()};
        String[][] cases = {
            join(linearize, "--held-out", "NaN"), {"--held-out", "[0, 1)"},
            join(linearize, "--batch", "0"), {"--batch", "[1, "},
            join(linearize, "--micro-batch", "-1"), {"--micro-batch", "-1"},
            join(linearize, "--seq-len", "2000000000"), {"--seq-len", "1048576"},
            join(linearize, "--window", "1000000000"), {"--window", "65536"},
            join(linearize, "--lora-rank", "0"), {"--lora-rank"},
            join(linearize, "--lora-targets", "q_proj,bogus"), {"--lora-targets", "bogus"},
            join(linearize, "--lora-dropout", "1"), {"--lora-dropout", "[0, 1)"},
            join(linearize, "--transfer-lr", "Infinity"), {"--transfer-lr", "Infinity"},
            join(linearize, "--lora-alpha", "-Infinity"), {"--lora-alpha"},
            join(linearize, "--transfer-steps", "99999999999"), {"--transfer-steps", "99999999999"},
            join(linearize, "--softmax-layers", "0,-1"), {"--softmax-layers", "-1"},
            join(pretrain, "--lr", "NaN"), {"--lr", "NaN"},
            join(pretrain, "--clip", "-1"), {"--clip"},
            join(pretrain, "--hidden", "0"), {"--hidden"},
            {"generate", "--model", model, "--token-ids", "1,2", "--max-new-tokens", "5", "--temperature", "Infinity"},
            {"--temperature", "Infinity"},
            {"generate", "--model", model, "--token-ids", "1,2", "--max-new-tokens", "5", "--top-p", "NaN"}, {"--top-p"},
            {"eval", "--model", model, "--task", data.toString(), "--context", "-3"}, {"--context", "-3"},
            {"eval", "--model", model, "--task", data.toString(), "--max-batch-tokens", "0"}, {"--max-batch-tokens"},
            {"bench", "matmul", "--iterations", "0"}, {"--iterations"},
            {"bench", "matmul", "--memory-budget-gib", "NaN"}, {"--memory-budget-gib"},
            {"demo", "--transfer-steps", "0", "--out", out.toString()}, {"--transfer-steps"},
            {"import-reference", "--distill", data.toString(), "--lora-alpha", "NaN", "--lora", data.toString(),
                "--lora-rank", "4", "--out", out.toString()}, {"--lora-alpha"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String error = unchanged(tmp, cases[i]);
            for (String part : cases[i + 1]) {
                assertMentions(error, part);
            }
            assertFalse(Files.exists(out), "nothing written for " + String.join(" ", cases[i]));
        }
    }

    /**
     * Checks that need the model's config.json (layer indices) or two flags together run before
     * any weight is read: the model folder here has a config.json and no weights at all, so
     * reaching the loader would fail differently.
     */
    @Test
    void crossOptionChecksRunBeforeTheModelLoads() throws IOException {
        Path noWeights = Files.createDirectories(tmp.resolve("config-only"));
        Files.copy(Cli.model().resolve("config.json"), noWeights.resolve("config.json"));
        Path data = data();
        Path out = tmp.resolve("out");
        String[] linearize = {"linearize", "--model", noWeights.toString(), "--data", data.toString(), "--out", out.toString()};
        assertMentions(unchanged(tmp, join(linearize, "--softmax-layers", "99")), "--softmax-layers", "99", "num_hidden_layers 2");
        assertMentions(unchanged(tmp, join(linearize, "--batch", "3", "--micro-batch", "2")), "--micro-batch", "divisor", "(3)");
        assertMentions(unchanged(tmp, join(linearize, "--lora-targets", "q_proj,q_proj")), "--lora-targets", "twice");
        assertMentions(unchanged(tmp, "linearize", "--model", noWeights.toString(), "--data", tmp.resolve("nowhere.txt").toString(),
                "--out", out.toString()), "--data", "nowhere.txt");
        assertMentions(unchanged(tmp, "pretrain", "--data", data.toString(), "--out", out.toString(), "--batch", "16",
                "--micro-batch", "5"), "--micro-batch", "(16)");
        assertFalse(Files.exists(out));
    }

    // ---- memory ---------------------------------------------------------------------------

    /** Sizes beyond the machine: refused from the config, naming the field and the bytes. */
    @Test
    void configsNeedingMoreMemoryThanTheMachineHasAreRefused() throws IOException {
        Path wide = Cli.copy(Cli.model(), tmp.resolve("wide"));
        editJson(wide.resolve("config.json"), c -> c.put("intermediate_size", 1_000_000_000));
        assertMentions(unchanged(wide, "score", "--model", wide.toString(), "--token-ids", "1,2"),
                "config.json", "intermediate_size", "bytes", "RAM");

        Path vocab = Cli.copy(Cli.model(), tmp.resolve("vocab"));
        editJson(vocab.resolve("config.json"), c -> {
            c.put("vocab_size", 2_000_000_000);
            c.put("hidden_size", 4096);
            c.put("num_attention_heads", 32);
            c.put("num_key_value_heads", 32);
        });
        assertMentions(unchanged(vocab, "generate", "--model", vocab.toString(), "--token-ids", "1,2", "--max-new-tokens", "1"),
                "config.json", "vocab_size", "bytes");

        Path huge = Cli.copy(Cli.model(), tmp.resolve("huge"));
        editJson(huge.resolve("config.json"), c -> c.put("intermediate_size", 1_000_000_000_000L));
        assertMentions(unchanged(huge, "score", "--model", huge.toString(), "--token-ids", "1,2"),
                "config.json", "intermediate_size", "2147483647");

        Path deep = Cli.copy(Cli.model(), tmp.resolve("deep"));
        editJson(deep.resolve("config.json"), c -> {
            c.put("hidden_size", 1024);
            c.put("num_attention_heads", 8);
            c.put("num_key_value_heads", 8);
            c.put("num_hidden_layers", 32);
        });
        assertMentions(unchanged(deep, "generate", "--model", deep.toString(), "--token-ids", "1,2", "--max-new-tokens", "1048576"),
                "--max-new-tokens", "key-value cache", "bytes");

        Path out = tmp.resolve("out");
        assertMentions(unchanged(tmp, "linearize", "--model", Cli.model().toString(), "--data", data().toString(), "--out",
                out.toString(), "--seq-len", "1048576", "--batch", "256", "--micro-batch", "256"),
                "--seq-len", "--micro-batch", "bytes");
        assertMentions(unchanged(tmp, "pretrain", "--data", data().toString(), "--out", out.toString(), "--hidden", "1048576",
                "--heads", "16", "--kv-heads", "16", "--layers", "1000"), "hidden_size", "bytes");
        assertFalse(Files.exists(out));
    }

    // ---- JSON -----------------------------------------------------------------------------

    /** config.json, lolcats_config.json, tokenizer.json: what lenient parsing let through. */
    @Test
    void jsonFieldsWithWrongTypesRangesOrTrailingGarbageAreRefused() throws IOException {
        record Case(String file, Consumer<ObjectNode> edit, String... mentions) {}
        List<Case> modelCases = List.of(
                new Case("config.json", c -> c.put("rope_theta", 0), "rope_theta", "(0, inf)"),
                new Case("config.json", c -> c.put("rope_theta", -5.0), "rope_theta"),
                new Case("config.json", c -> c.put("hidden_size", "64"), "hidden_size", "string"),
                new Case("config.json", c -> c.put("num_hidden_layers", 4294967298L), "num_hidden_layers", "4294967298"),
                new Case("config.json", c -> c.put("rms_norm_eps", 0), "rms_norm_eps"),
                new Case("config.json", c -> c.put("tie_word_embeddings", "yes"), "tie_word_embeddings"),
                new Case("config.json", c -> c.put("eos_token_id", 300), "eos_token_id", "300"));
        for (Case k : modelCases) {
            Path dir = Cli.copy(Cli.model(), tmp.resolve("m" + Math.abs(k.hashCode())));
            editJson(dir.resolve(k.file()), k.edit());
            String error = unchanged(dir, "score", "--model", dir.toString(), "--token-ids", "1,2");
            assertMentions(error, k.file());
            assertMentions(error, k.mentions());
        }
        List<Case> adapterCases = List.of(
                new Case(AdapterConfigJson.FILE_NAME, c -> ((ObjectNode) c.get("lora")).put("alpha", "abc"), "lora.alpha", "abc"),
                new Case(AdapterConfigJson.FILE_NAME, c -> c.put("window_size", 4294967304L), "window_size", "4294967304"),
                new Case(AdapterConfigJson.FILE_NAME, c -> ((ObjectNode) c.get("lora")).put("dropout", 1.0), "lora.dropout", "[0, 1)"),
                new Case(AdapterConfigJson.FILE_NAME, c -> ((ObjectNode) c.get("lora")).put("dropout", -0.1), "lora.dropout"),
                new Case(AdapterConfigJson.FILE_NAME, c -> ((ObjectNode) c.get("lora")).put("rank", 2.5), "lora.rank", "2.5"),
                new Case(AdapterConfigJson.FILE_NAME, c -> c.put("feature_dim", true), "feature_dim"));
        for (Case k : adapterCases) {
            Path dir = Cli.copy(Cli.adapter(), tmp.resolve("a" + Math.abs(k.hashCode())));
            editJson(dir.resolve(k.file()), k.edit());
            String error = unchanged(dir, "score", "--model", Cli.model().toString(), "--adapter", dir.toString(), "--token-ids", "1,2");
            assertMentions(error, k.file());
            assertMentions(error, k.mentions());
        }
        // Trailing garbage after the object, in each kind of file.
        Path model = Cli.copy(Cli.model(), tmp.resolve("trailing-model"));
        Files.writeString(model.resolve("config.json"), "} {\"x\": 1}", java.nio.file.StandardOpenOption.APPEND);
        assertMentions(unchanged(model, "score", "--model", model.toString(), "--token-ids", "1,2"), "config.json", "JSON");
        Path adapter = Cli.copy(Cli.adapter(), tmp.resolve("trailing-adapter"));
        Files.writeString(adapter.resolve(AdapterConfigJson.FILE_NAME), "garbage", java.nio.file.StandardOpenOption.APPEND);
        assertMentions(unchanged(adapter, "score", "--model", Cli.model().toString(), "--adapter", adapter.toString(),
                "--token-ids", "1,2"), AdapterConfigJson.FILE_NAME, "JSON");
        // A tokenizer with ids beyond the model's vocab_size (259 byte-level ids, a 256-row model).
        Path withTokenizer = Cli.copy(Cli.model(), tmp.resolve("tokenizer-beyond-vocab"));
        ByteLevelTokenizerFiles.write(withTokenizer);
        assertMentions(unchanged(withTokenizer, "score", "--model", withTokenizer.toString(), "--text", "hello"),
                "tokenizer.json", "258", "vocab_size 256");
    }

    // ---- non-finite weights ---------------------------------------------------------------

    /** A NaN or an infinity in a model or an adapter: refused on load with the tensor's name and file. */
    @Test
    void nonFiniteWeightsAreRefusedByName() throws IOException {
        Path model = Cli.copy(Cli.model(), tmp.resolve("nan-model"));
        poke(model.resolve("model.safetensors"), "model.layers.1.mlp.down_proj.weight", 7, Float.NaN);
        assertMentions(unchanged(model, "score", "--model", model.toString(), "--token-ids", "1,2,3"),
                "model.safetensors", "model.layers.1.mlp.down_proj.weight", "NaN");
        assertMentions(unchanged(model, "generate", "--model", model.toString(), "--token-ids", "1,2,3", "--max-new-tokens", "2",
                "--dtype", "bf16"), "model.layers.1.mlp.down_proj.weight");

        Path norm = Cli.copy(Cli.model(), tmp.resolve("inf-norm"));
        poke(norm.resolve("model.safetensors"), "model.norm.weight", 0, Float.POSITIVE_INFINITY);
        assertMentions(unchanged(norm, "score", "--model", norm.toString(), "--token-ids", "1,2,3"), "model.norm.weight");

        Path adapter = Cli.copy(Cli.adapter(), tmp.resolve("inf-adapter"));
        poke(adapter.resolve("adapter.safetensors"), "model.layers.0.self_attn.window_factors", 1, Float.NEGATIVE_INFINITY);
        assertMentions(unchanged(adapter, "score", "--model", Cli.model().toString(), "--adapter", adapter.toString(),
                "--token-ids", "1,2,3"), "adapter.safetensors", "model.layers.0.self_attn.window_factors");
        Path out = tmp.resolve("merged");
        assertMentions(unchanged(adapter, "merge", "--model", Cli.model().toString(), "--adapter", adapter.toString(),
                "--out", out.toString()), "window_factors");
        assertFalse(Files.exists(out));
    }

    // ---- reference checkpoints -------------------------------------------------------------

    /** A real-format checkpoint that also holds optimizer and scheduler state imports like the plain one. */
    @Test
    void checkpointWithOptimizerStateImports() {
        Path out = tmp.resolve("imported");
        Cli.Result r = Cli.run("import-reference", "--distill", hostile("with-optimizer.pt").toString(), "--config",
                Cli.adapter().resolve(AdapterConfigJson.FILE_NAME).toString(), "--out", out.toString());
        r.assertOk();
        assertTrue(Files.isRegularFile(out.resolve("adapter.safetensors")));
    }

    /** Hostile torch.save archives: exit 2 naming the file and the entry, nothing written, no stack trace. */
    @Test
    void hostileCheckpointsAreRefused() {
        String config = Cli.adapter().resolve(AdapterConfigJson.FILE_NAME).toString();
        Path out = tmp.resolve("imported");
        String[][] cases = {
            {"storage-beyond-file.pt", "data/0", "bytes"},
            {"size-overflow.pt", "overflows"},
            {"zero-stride.pt", "zero or overlapping strides"},
            {"truncated-storage.pt", "data/77", "holds 100"},
            {"pickle-bomb.pt", "data.pkl", "larger than"},
            {"self-reference.pt", "refers to itself"},
            {"deep-nesting.pt", "nests deeper"},
            {"unknown-global.pt", "os.system"},
        };
        for (String[] c : cases) {
            Path file = hostile(c[0]);
            String error = unchanged(tmp, "import-reference", "--distill", file.toString(), "--config", config, "--out", out.toString());
            assertMentions(error, c[0]);
            assertMentions(error, Arrays.copyOfRange(c, 1, c.length));
            assertFalse(Files.exists(out), c[0]);
        }
    }

    // ---- helpers --------------------------------------------------------------------------

    private static Path hostile(String name) {
        try {
            return Path.of(HostileInputTest.class.getResource("/hostile/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private Path data() throws IOException {
        Path data = tmp.resolve("data.txt");
        if (!Files.exists(data)) {
            Files.writeString(data, "Call me Ishmael. Some years ago, never mind how long precisely.\n".repeat(50));
        }
        return data;
    }

    /** Runs a command that must fail with bad input, leaving {@code folder} (and its files) as they were. */
    private static String unchanged(Path folder, String... args) {
        List<String> before = listingWithSizes(folder);
        String error = Cli.run(args).assertBadInput();
        assertEquals(before, listingWithSizes(folder), () -> "files changed in " + folder + " by " + String.join(" ", args));
        return error;
    }

    private static List<String> listingWithSizes(Path dir) {
        return Cli.listing(dir).stream().map(p -> {
            Path f = dir.resolve(p);
            try {
                return p + (Files.isRegularFile(f) ? " " + Files.size(f) + " " + Files.getLastModifiedTime(f).toMillis() : "");
            } catch (IOException e) {
                return p;
            }
        }).toList();
    }

    private static void assertMentions(String error, String... parts) {
        for (String p : parts) {
            assertTrue(error.contains(p), () -> "\"" + p + "\" not in: " + error);
        }
    }

    private static String[] join(String[] base, String... extra) {
        String[] args = Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return args;
    }

    private static void editJson(Path file, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode node = (ObjectNode) Cli.JSON.readTree(file.toFile());
        edit.accept(node);
        Files.writeString(file, Cli.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
    }

    /** Overwrites element {@code index} of an F32 tensor in a safetensors file. */
    private static void poke(Path file, String tensor, int index, float value) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] len = new byte[8];
            f.readFully(len);
            long headerLength = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] header = new byte[(int) headerLength];
            f.readFully(header);
            JsonNode info = Cli.JSON.readTree(new String(header, StandardCharsets.UTF_8)).get(tensor);
            assertEquals("F32", info.get("dtype").asText(), tensor);
            long begin = info.get("data_offsets").get(0).asLong();
            f.seek(8 + headerLength + begin + 4L * index);
            byte[] bytes = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value).array();
            f.write(bytes);
        }
    }
}
