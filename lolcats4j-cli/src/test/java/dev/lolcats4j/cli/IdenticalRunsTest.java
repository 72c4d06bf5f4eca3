package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two identical runs of a command write byte-identical folders (every file: weights, JSON,
 * metrics, plots, checkpoints), for every command that writes. Safetensors metadata used to
 * come out in a different order from one JVM to the next; each run here is a fresh command
 * line, and the metadata maps are built anew each time.
 */
class IdenticalRunsTest {

    @TempDir
    Path tmp;

    private void assertIdentical(String what, Function<Path, Cli.Result> run) {
        Path a = tmp.resolve(what + "-a");
        Path b = tmp.resolve(what + "-b");
        run.apply(a).assertOk();
        run.apply(b).assertOk();
        Map<String, String> first = Trees.hash(a);
        assertEquals(first, Trees.hash(b), what + ": two identical runs wrote different files");
        assertEquals(true, first.size() > 1, what + " wrote nothing");
    }

    @Test
    void everyCommandWritesTheSameBytesTwice() throws IOException {
        Path data = tmp.resolve("corpus.txt");
        StringBuilder text = new StringBuilder();
        String[] words = {"the whale", "a ship", "the sea", "my captain", "the harpoon", "a storm"};
        for (int i = 0; i < 400; i++) {
            text.append(words[i % words.length]).append(i % 7 == 0 ? ".\n\n" : " and ");
        }
        Files.writeString(data, text.toString());

        assertIdentical("pretrain", out -> Cli.run("pretrain", "--data", data.toString(), "--out", out.toString(), "--seq-len", "32",
                "--steps", "4", "--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--intermediate", "64",
                "--batch", "4", "--micro-batch", "4", "--checkpoint-every", "2"));
        Path teacher = tmp.resolve("pretrain-a");
        assertIdentical("linearize", out -> Cli.run("linearize", "--model", teacher.toString(), "--data", data.toString(),
                "--out", out.toString(), "--seq-len", "32", "--feature-dim", "4", "--window", "8", "--transfer-steps", "3",
                "--lora-steps", "2", "--batch", "2", "--micro-batch", "2", "--eval-every", "2", "--checkpoint-every", "2",
                "--lora-rank", "2"));
        assertIdentical("merge", out -> Cli.run("merge", "--model", Cli.model().toString(), "--adapter", Cli.adapter().toString(),
                "--out", out.toString()));
        Path pt = Cli.adapter().resolve("reference_pt");
        List<String> importArgs = new ArrayList<>(List.of("import-reference", "--distill", pt.resolve("distill.pt").toString(),
                "--lora", pt.resolve("ft.pt").toString(), "--config", Cli.adapter().resolve("lolcats_config.json").toString()));
        assertIdentical("import-reference", out -> {
            List<String> args = new ArrayList<>(importArgs);
            args.addAll(List.of("--out", out.toString()));
            return Cli.run(args.toArray(String[]::new));
        });
    }
}
