package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code --dtype auto} is the default wherever a command chooses a matmul dtype, and 'info' reports the machine. */
class DtypeOptionTest {

    /** Every command that runs a model's matmuls (merge only folds LoRA, always in float32, and has --store-dtype). */
    static final List<String> COMMANDS = List.of("score", "generate", "eval", "linearize", "pretrain", "bench", "demo", "serve");

    @Test
    void everyCommandsHelpShowsDtypeAutoAsTheDefault() {
        for (String command : COMMANDS) {
            Cli.Result r = Cli.run(command, "--help");
            r.assertOk();
            String help = r.out().replaceAll("\\s+", " ");
            assertTrue(help.contains("--dtype=auto|f32|bf16"), command + ": " + r.out());
            assertTrue(help.contains("default: auto"), command + ": " + r.out());
        }
    }

    @Test
    void everyDtypeOptionDefaultsToAuto() {
        CommandLine cli = Main.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        Set<String> withDtype = new TreeSet<>();
        cli.getSubcommands().forEach((name, sub) -> {
            CommandLine.Model.OptionSpec option = sub.getCommandSpec().findOption("--dtype");
            if (option != null) {
                assertEquals("auto", option.defaultValue(), name);
                withDtype.add(sub.getCommandName());
            }
        });
        assertEquals(new TreeSet<>(COMMANDS), withDtype);
    }

    @Test
    void badDtypeIsRejectedBeforeAnyWork() {
        String error = Cli.run("score", "--model", Cli.model().toString(), "--token-ids", "1,2", "--dtype", "f16").assertBadInput();
        assertTrue(error.contains("--dtype") && error.contains("auto, f32 or bf16") && error.contains("\"f16\""), error);
        error = Cli.run("bench", "matmul", "--dtype", "half").assertBadInput();
        assertTrue(error.contains("--dtype"), error);
    }

    @Test
    void infoReportsTheCpuTheRatesAndTheChoice() {
        Cli.Result r = Cli.run("info", "--json");
        r.assertOk();
        JsonNode info = r.json();
        assertTrue(info.get("cpu_model").asText().length() > 0, r.out());
        assertTrue(info.get("gemm").get("f32_gflops").asDouble() > 0, r.out());
        assertTrue(Set.of("f32", "bf16").contains(info.get("auto_dtype").asText()), r.out());
        assertTrue(info.get("auto_reason").asText().startsWith("auto: " + info.get("auto_dtype").asText()), r.out());
        Cli.Result text = Cli.run("doctor");
        text.assertOk();
        assertTrue(text.out().contains("--dtype auto:") && text.out().contains("flags:"), text.out());
        assertTrue(info.get("allocator").asText().matches("glibc malloc|(tcmalloc|jemalloc|mimalloc) \\(/.*\\)"), r.out());
        assertTrue(text.out().contains("allocator:"), text.out());
        Cli.Result version = Cli.run("--version");
        version.assertOk();
        assertTrue(version.out().contains("CPU "), version.out());
    }

    @Test
    void benchShapeFlagsAreCheckedFirst() {
        assertTrue(Cli.run("bench", "train", "--hidden", "100", "--heads", "3").assertBadInput().contains("--heads"));
        assertTrue(Cli.run("bench", "matmul", "--hidden", "64").assertBadInput().contains("bench train"));
        assertTrue(Cli.run("bench", "train", "--seq-len", "0").assertBadInput().contains("--seq-len"));
        assertTrue(Cli.run("bench", "train", "--hidden", "65536", "--layers", "1000", "--heads", "64", "--kv-heads", "64",
                "--intermediate", "200000").assertBadInput().contains("GiB"));
    }
}
