package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lolcats import-reference}: the reference's .pt checkpoints become an adapter that scores like the reference. */
class ImportReferenceCommandTest {

    @TempDir
    Path tmp;

    private static Path pt(String name) {
        return Cli.adapter().resolve("reference_pt").resolve(name);
    }

    private static String config() {
        return Cli.adapter().resolve(AdapterConfigJson.FILE_NAME).toString();
    }

    private List<String> topLevel() {
        return Cli.listing(tmp).stream().filter(p -> !p.contains("/")).toList();
    }

    @Test
    void importedAdapterScoresLikeTheReference() {
        Path out = tmp.resolve("imported");
        Cli.Result imp = Cli.run("import-reference", "--distill", pt("distill.pt").toString(), "--lora", pt("ft.pt").toString(),
                "--config", config(), "--model", Cli.model().toString(), "--out", out.toString());
        imp.assertOk();
        assertEquals(List.of("", "adapter.safetensors", "lolcats_config.json"), Cli.listing(out));
        assertEquals(List.of("", "imported"), topLevel(), "no temp folder left");

        JsonNode c = Cli.testCase("llama-f32/sw-lora");
        MergeCommandTest.assertMatchesReference(Cli.run("score", "--model", Cli.model().toString(), "--adapter", out.toString(),
                "--token-ids", Cli.idList(c.get("token_ids")), "--json", "--dtype", "f32"), c);
    }

    @Test
    void flagsDescribeTheSameConfigAsTheFile() {
        Path out = tmp.resolve("from-flags");
        Cli.run("import-reference", "--distill", pt("distill.pt").toString(), "--lora", pt("ft.pt").toString(),
                "--attention", "hybrid_sw", "--feature-map", "softmax_dim", "--feature-dim", "8", "--window-size", "8",
                "--lora-rank", "4", "--lora-alpha", "8", "--out", out.toString()).assertOk();
        assertEquals(AdapterConfigJson.read(Cli.adapter()), AdapterConfigJson.read(out));
    }

    @Test
    void checkpointWithoutModelStateDictIsBadInput() throws IOException {
        Path bogus = tmp.resolve("bogus.pt");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(bogus))) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            // pickle protocol 2: {'step': 1}
            zip.write(new byte[] {(byte) 0x80, 2, '}', 'q', 0, 'X', 4, 0, 0, 0, 's', 't', 'e', 'p', 'K', 1, 's', '.'});
            zip.closeEntry();
        }
        String error = Cli.run("import-reference", "--distill", bogus.toString(), "--config", config(),
                "--out", tmp.resolve("out").toString()).assertBadInput();
        assertTrue(error.contains("bogus.pt") && error.contains("model_state_dict"), error);
        assertEquals(List.of("", "bogus.pt"), topLevel(), "nothing written");
    }

    @Test
    void incompatibleModelIsBadInputAndWritesNothing() {
        Path qwen = Cli.parity().resolve("models/qwen2-f32"); // 4 KV heads: k_proj/v_proj outputs are 64, not 32
        String error = Cli.run("import-reference", "--distill", pt("distill.pt").toString(), "--lora", pt("ft.pt").toString(),
                "--config", config(), "--model", qwen.toString(), "--out", tmp.resolve("out").toString()).assertBadInput();
        assertTrue(error.contains("expected shape"), error);
        assertEquals(List.of(""), topLevel(), "no --out folder, no temp folder");
    }

    @Test
    void badArguments() {
        String error = Cli.run("import-reference", "--distill", pt("distill.pt").toString(), "--config", config(),
                "--window-size", "8", "--out", tmp.resolve("out").toString()).assertBadInput();
        assertTrue(error.contains("--config") && error.contains("--window-size"), error);
        error = Cli.run("import-reference", "--distill", pt("distill.pt").toString(), "--lora", pt("ft.pt").toString(),
                "--out", tmp.resolve("out").toString()).assertBadInput();
        assertTrue(error.contains("--lora-rank"), error);
        error = Cli.run("import-reference", "--distill", pt("distill.pt").toString(), "--attention", "quadratic",
                "--out", tmp.resolve("out").toString()).assertBadInput();
        assertTrue(error.contains("--attention") && error.contains("hybrid_sw"), error);
        error = Cli.run("import-reference", "--distill", tmp.resolve("none.pt").toString(), "--config", config(),
                "--out", tmp.resolve("out").toString()).assertBadInput();
        assertTrue(error.contains("--distill") && error.contains("none.pt"), error);
        assertEquals(List.of(""), topLevel());
    }
}
