package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lolcats demo}: the whole pipeline on the bundled teacher (a small byte-level Llama
 * pretrained by {@code lolcats pretrain} on Moby-Dick): linearize it (stage 1 + stage 2), compare
 * it with the teacher and with the untrained swap on held-out text and a cloze task, and
 * generate from both.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The whole pipeline on the bundled teacher: linearize, evaluate, generate.",
                "Uses demo/ (a byte-level Llama pretrained on Moby-Dick and its corpus); takes a few minutes on 2 cores."})
public final class DemoCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", defaultValue = "demo-out", paramLabel = "DIR", description = "Where results go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--home", paramLabel = "DIR", description = "The lolcats4j checkout holding demo/ (default: set by the launcher).")
    Path home;

    @Option(names = "--transfer-steps", converter = Flags.Positive.class, defaultValue = "200", description = "Stage-1 steps (default: ${DEFAULT-VALUE}; 200 x 8 x 512 = 819k tokens).")
    int transferSteps;

    @Option(names = "--lora-steps", converter = Flags.Positive.class, defaultValue = "100", description = "Stage-2 steps (default: ${DEFAULT-VALUE}).")
    int loraSteps;

    @Option(names = "--resume", description = "Continue an interrupted demo run.")
    boolean resume;

    @Option(names = "--dtype", paramLabel = Dtypes.LABEL, defaultValue = "auto", description = Dtypes.DESCRIPTION)
    String dtype;

    @Option(names = "--force", description = "Replace a non-empty --out folder.")
    boolean force;

    @Override
    public Integer call() {
        Dtypes.parse(dtype);
        Path demo = demoFolder();
        OutputFolder output = OutputFolder.of("--out", out).force(force).resume(resume, "adapter/stage1", "adapter/stage2").inputs("--home", demo);
        output.check();
        return output.writeInPlace(dir -> run(demo, dir));
    }

    private int run(Path demo, Path dir) {
        Path teacher = demo.resolve("teacher");
        Path train = demo.resolve("corpus/train.txt");
        Path heldOut = demo.resolve("corpus/heldout.txt");
        Path cloze = demo.resolve("tasks/cloze.jsonl");
        Path adapter = dir.resolve("adapter");
        PrintWriter err = spec.commandLine().getErr();
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;

        err.println("== 1/3 linearize " + teacher + " on " + train + " -> " + adapter);
        err.flush();
        List<String> linearize = new ArrayList<>(List.of("linearize", "--model", teacher.toString(), "--data", train.toString(),
                "--out", adapter.toString(), "--seq-len", "512", "--window", "64", "--feature-dim", "32",
                "--transfer-steps", Integer.toString(transferSteps), "--lora-steps", Integer.toString(loraSteps),
                "--lora-lr", "1e-3", "--eval-every", "25", "--checkpoint-every", "25", "--micro-batch", "8", "--dtype", dtype));
        if (resume) {
            linearize.add("--resume");
        }
        int code = Main.run(linearize.toArray(String[]::new), stdout, stderr);
        if (code != Main.EXIT_OK) {
            return code; // linearize has said why, in its one error line
        }

        err.println("== 2/3 evaluate: teacher vs linearized vs untrained swap");
        err.flush();
        code = Main.run(new String[] {"eval", "--model", teacher.toString(), "--adapter", adapter.toString(), "--task",
                heldOut.toString(), cloze.toString(), "--compare", "--untrained", "--context", "512", "--dtype", dtype}, stdout, stderr);
        if (code != Main.EXIT_OK) {
            return code;
        }

        String prompt = "Call me Ishmael. ";
        for (String[] which : new String[][] {{"teacher (softmax attention)", null}, {"linearized (LoLCATs)", adapter.toString()}}) {
            err.println("== 3/3 generate with the " + which[0]);
            err.flush();
            List<String> generate = new ArrayList<>(List.of("generate", "--model", teacher.toString(), "--prompt", prompt,
                    "--max-new-tokens", "300", "--temperature", "0.7", "--seed", "1", "--dtype", dtype));
            if (which[1] != null) {
                generate.addAll(List.of("--adapter", which[1]));
            }
            stdout.println("--- " + which[0] + ":");
            stdout.print(prompt);
            code = Main.run(generate.toArray(String[]::new), stdout, stderr);
            if (code != Main.EXIT_OK) {
                return code;
            }
            stdout.println();
        }
        Path shown = out.resolve("adapter");
        stdout.println("demo finished: adapter in " + shown + " (training curves: " + shown.resolve("stage1/loss.png")
                + ", " + shown.resolve("stage2/loss.png") + ")");
        return Main.EXIT_OK;
    }

    private Path demoFolder() {
        Path root = home != null ? home : Path.of(System.getProperty("lolcats.home", "."));
        Path demo = root.resolve("demo");
        if (!Files.isDirectory(demo.resolve("teacher"))) {
            throw new BadInputException(demo + ": bundled demo not found (run from the lolcats4j checkout or pass --home)");
        }
        return demo;
    }
}
