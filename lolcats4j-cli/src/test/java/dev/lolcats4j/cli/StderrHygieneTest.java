package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What a user sees on stderr: nothing on --help, exactly one {@code error:} line on bad input. */
class StderrHygieneTest {

    @TempDir
    Path tmp;

    @Test
    void everyHelpPrintsNothingOnStderr() {
        CommandLine root = Main.commandLine(System.out, System.err);
        List<String> commands = new ArrayList<>(root.getSubcommands().keySet());
        assertTrue(commands.contains("pretrain"), "subcommands: " + commands);
        for (String command : commands) {
            Cli.Result r = Cli.run(command, "--help");
            assertEquals(0, r.exitCode(), command + " --help");
            assertEquals("", r.err(), () -> command + " --help wrote to stderr");
            assertTrue(r.out().contains("Usage:"), command + " --help prints its usage");
            assertTrue(!r.out().contains("%n") && !r.out().contains("%%"), () -> command + ": unformatted text in " + r.out());
        }
    }

    @Test
    void pretrainHelpShowsThePercentages() {
        Cli.Result r = Cli.run("pretrain", "--help");
        String text = r.out().replaceAll("\\s+", " ");
        assertTrue(text.contains("5% of --steps") && text.contains("10% of --steps"), r.out());
    }

    /**
     * The real JVM, started with the incubator module as the launcher starts it, through the
     * launcher's stderr filter (scripts/run-java.sh): bad input gives exit 2 and exactly one
     * stderr line, and the filter leaves other first lines alone.
     */
    @Test
    void launcherStderrOnBadInputIsOneErrorLine() throws Exception {
        Path script = Path.of("").toAbsolutePath().getParent().resolve("scripts/run-java.sh");
        assertTrue(Files.isRegularFile(script), script.toString());
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Path nowhere = tmp.resolve("nowhere");
        Process p = new ProcessBuilder("bash", "-c", ". \"$0\"; lolcats_run_filtered \"$@\"", script.toString(), java,
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "score", "--model", nowhere.toString(), "--token-ids", "1,2")
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "JVM did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, p.exitValue(), err);
        assertEquals("", out);
        assertEquals(1, err.lines().count(), () -> "stderr: " + err);
        assertTrue(err.startsWith("error: --model " + nowhere) && err.endsWith("\n"), err);
        assertTrue(Files.notExists(nowhere), "no folder created");

        // Only that exact first line is dropped: another first line, and the warning later on, stay.
        Process echo = new ProcessBuilder("bash", "-c", ". \"$0\"; lolcats_run_filtered bash -c "
                + "'echo \"WARNING: something else\" >&2; echo \"WARNING: Using incubator modules: jdk.incubator.vector\" >&2; printf partial >&2; exit 7'",
                script.toString()).start();
        assertTrue(echo.waitFor(30, TimeUnit.SECONDS));
        String echoed = new String(echo.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(7, echo.exitValue());
        assertEquals("WARNING: something else\nWARNING: Using incubator modules: jdk.incubator.vector\npartial", echoed);
    }

    @Test
    void badInputInProcessIsExactlyOneLine() throws IOException {
        Path nowhere = tmp.resolve("nowhere");
        String error = Cli.run("score", "--model", nowhere.toString(), "--token-ids", "1,2").assertOnlyBadInput();
        assertTrue(error.contains("--model"), error);
        assertTrue(Files.notExists(nowhere));
    }
}
