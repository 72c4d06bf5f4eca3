package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lolcats linearize --blockwise K} end to end on a tiny two-layer model, and its input errors. */
class BlockwiseCommandTest {

    private static Path corpus(Path dir) throws IOException {
        return TinyCorpus.write(dir, 300);
    }

    @Test
    void blockwiseLinearizeWritesBlocksTablePlotAndAnAdapterThatScores(@TempDir Path tmp) throws IOException {
        Path data = corpus(tmp);
        Path teacher = tmp.resolve("teacher");
        Cli.run("pretrain", "--data", data.toString(), "--out", teacher.toString(), "--seq-len", "32", "--steps", "2",
                "--hidden", "32", "--layers", "2", "--heads", "2", "--kv-heads", "1", "--intermediate", "64",
                "--batch", "4", "--micro-batch", "4").assertOk();
        Path out = tmp.resolve("adapter");
        List<String> args = List.of("linearize", "--model", teacher.toString(), "--data", data.toString(), "--out", out.toString(),
                "--seq-len", "32", "--feature-dim", "4", "--window", "8", "--transfer-steps", "3", "--lora-steps", "2",
                "--batch", "2", "--micro-batch", "2", "--eval-every", "2", "--checkpoint-every", "2", "--lora-rank", "2",
                "--blockwise", "1", "--runner", "local");
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        r.assertOk();
        assertTrue(r.out().contains("block-wise attention transfer, 2 blocks of 1 layers, runner local): 2 trained, 0 reused"), r.out());
        assertTrue(r.err().contains("blocks 2/2 done"), r.err());
        assertTrue(r.out().contains("stage 2 (LoRA): 2 steps"), r.out());
        List<String> table = Files.readAllLines(out.resolve("stage1/blocks.csv"));
        assertEquals(3, table.size(), String.join("\n", table));
        assertTrue(table.get(0).startsWith("block,first_layer,last_layer,initial_mse,final_mse,steps"), table.get(0));
        assertTrue(Files.size(out.resolve("stage1/blocks.png")) > 1000);
        assertTrue(Files.isRegularFile(out.resolve("cache/index.json")));
        Cli.run("score", "--model", teacher.toString(), "--adapter", out.toString(), "--text", "the whale", "--json").assertOk();

        // A second run (--resume: the folder is not empty) reuses every finished block.
        List<String> resume = new java.util.ArrayList<>(args);
        resume.add("--resume");
        Cli.Result again = Cli.run(resume.toArray(String[]::new));
        again.assertOk();
        assertTrue(again.out().contains("0 trained, 2 reused"), again.out());
    }

    @Test
    void blockwiseInputErrors(@TempDir Path tmp) throws IOException {
        Path data = corpus(tmp);
        Path teacher = tmp.resolve("teacher");
        Cli.run("pretrain", "--data", data.toString(), "--out", teacher.toString(), "--seq-len", "32", "--steps", "1",
                "--hidden", "32", "--layers", "2", "--heads", "2", "--kv-heads", "1", "--intermediate", "64",
                "--batch", "4", "--micro-batch", "4").assertOk();
        String[] base = {"linearize", "--model", teacher.toString(), "--data", data.toString(), "--out", tmp.resolve("o").toString(),
                "--seq-len", "32"};
        String m = Cli.run(concat(base, "--blockwise", "1", "--runner", "spark")).assertBadInput();
        assertTrue(m.contains("--runner") && m.contains("lolcats4j-spark"), m);
        m = Cli.run(concat(base, "--blockwise", "3")).assertBadInput();
        assertTrue(m.contains("--blockwise") && m.contains("1..2"), m);
        m = Cli.run(concat(base, "--blockwise", "0")).assertBadInput();
        assertTrue(m.contains("--blockwise"), m);
        m = Cli.run(concat(base, "--cache", tmp.resolve("c").toString())).assertBadInput();
        assertTrue(m.contains("--blockwise"), m);
        m = Cli.run(concat(base, "--blockwise", "1", "--master", "local[2]")).assertBadInput();
        assertTrue(m.contains("--master"), m);
        Files.writeString(tmp.resolve("file"), "x");
        m = Cli.run(concat(base, "--blockwise", "1", "--cache", tmp.resolve("file").toString())).assertBadInput();
        assertTrue(m.contains("--cache"), m);
        assertTrue(!Files.exists(tmp.resolve("o")), "nothing written before the options were checked");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
