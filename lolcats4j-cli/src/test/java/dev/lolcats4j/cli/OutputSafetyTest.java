package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command that writes (pretrain, linearize, merge, import-reference, demo) against the
 * output-safety contract: exit 2, stderr exactly one {@code error:} line naming --out, nothing on
 * stdout, and no byte changed anywhere under the test folder (inputs, the output, its siblings).
 */
class OutputSafetyTest {

    @TempDir
    Path tmp;

    private Path model;
    private Path adapter;
    private Path data;
    private Path home;

    /** A command line writing to {@code out}, and the input folder it reads (the one to collide with). */
    private record Command(String name, Path input, Function<String, String[]> args) {}

    @BeforeEach
    void inputs() throws IOException {
        model = Cli.copy(Cli.model(), tmp.resolve("inputs/model"));
        adapter = Cli.copy(Cli.adapter(), tmp.resolve("inputs/adapter"));
        Files.copy(Cli.adapter().resolve("reference_pt/distill.pt"), Files.createDirectories(tmp.resolve("inputs/pt")).resolve("distill.pt"));
        data = Files.createDirectories(tmp.resolve("inputs/data"));
        Files.writeString(data.resolve("corpus.txt"), "the whale and the sea. ".repeat(200));
        home = tmp.resolve("inputs/home");
        Files.createDirectories(home.resolve("demo/teacher"));
    }

    private List<Command> commands() {
        return List.of(
                new Command("pretrain", data, out -> new String[] {"pretrain", "--data", data.toString(), "--out", out, "--steps", "1"}),
                new Command("linearize", model, out -> new String[] {"linearize", "--model", model.toString(), "--data",
                        data.resolve("corpus.txt").toString(), "--out", out}),
                new Command("merge", adapter, out -> new String[] {"merge", "--model", model.toString(), "--adapter", adapter.toString(),
                        "--out", out}),
                new Command("import-reference", model, out -> new String[] {"import-reference", "--distill",
                        tmp.resolve("inputs/pt/distill.pt").toString(), "--model", model.toString(), "--out", out}),
                new Command("demo", home.resolve("demo"), out -> new String[] {"demo", "--home", home.toString(), "--out", out}));
    }

    /** Runs a command that must fail up front; returns its one error line. */
    private String refusedChangingNothing(String[] args) {
        Map<String, String> before = Trees.hash(tmp);
        Cli.Result r = Cli.run(args);
        assertEquals(2, r.exitCode(), () -> String.join(" ", args) + "\nstderr: " + r.err());
        assertEquals("", r.out(), "stdout");
        assertEquals(1, r.errLines().size(), () -> "stderr must be exactly one line: " + r.err());
        String error = r.errLines().get(0);
        assertTrue(error.startsWith("error: "), error);
        assertEquals(before, Trees.hash(tmp), () -> "files changed by: " + String.join(" ", args));
        return error;
    }

    private static String relative(Path p) {
        return Path.of("").toAbsolutePath().relativize(p).toString();
    }

    @Test
    void outputThatIsAnInputOrOverlapsOneIsRefusedHoweverItIsSpelled() throws IOException {
        Path links = Files.createDirectories(tmp.resolve("links"));
        for (Command c : commands()) {
            Path in = c.input();
            Path link = Files.createSymbolicLink(links.resolve(c.name()), in);
            Path parentLink = Files.createSymbolicLink(links.resolve(c.name() + "-parent"), in.getParent());
            List<String> spellings = List.of(
                    in.toString(),                                           // the same path
                    in + "/",                                                // trailing slash
                    in + "/./",
                    relative(in),                                            // relative to the working folder
                    link.toString(),                                         // a symlink to it
                    link + "/",
                    in.resolve("not-yet/..").toString(),                     // '..' through a missing folder
                    parentLink.resolve(in.getFileName()).toString(),         // through a symlinked parent
                    in.resolve("sub").toString(),                            // inside the input
                    link.resolve("sub/deeper").toString(),                   // inside, through a symlink
                    in.getParent().toString(),                               // a folder holding the input
                    parentLink + "/.");
            for (String out : spellings) {
                String error = refusedChangingNothing(c.args().apply(out));
                assertTrue(error.startsWith("error: --out ") && error.contains("input"), c.name() + " --out " + out + ": " + error);
            }
        }
    }

    @Test
    void nonEmptyOutputIsRefusedWithoutForceOrResume() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("existing"));
        Files.writeString(out.resolve("precious.txt"), "keep me");
        for (Command c : commands()) {
            String error = refusedChangingNothing(c.args().apply(out.toString()));
            assertTrue(error.startsWith("error: --out ") && error.contains("not empty") && error.contains("--force"), error);
        }
        Path file = Files.writeString(tmp.resolve("a-file"), "not a folder");
        for (Command c : commands()) {
            String error = refusedChangingNothing(c.args().apply(file.toString()));
            assertTrue(error.contains("--out") && error.contains("not a folder"), error);
        }
        for (String name : List.of("pretrain", "linearize", "demo")) {
            Command c = commands().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
            List<String> args = new ArrayList<>(List.of(c.args().apply(out.toString())));
            args.addAll(List.of("--force", "--resume"));
            String error = refusedChangingNothing(args.toArray(String[]::new));
            assertTrue(error.contains("--force and --resume"), error);
            // --resume into a folder that holds no checkpoint of this command would mix two folders' files.
            args.remove("--force");
            error = refusedChangingNothing(args.toArray(String[]::new));
            assertTrue(error.startsWith("error: --out ") && error.contains("nothing to resume"), error);
        }
    }

    @Test
    void aSecondRunOnALockedOutputIsRefusedNamingTheHolder() throws Exception {
        Path out = tmp.resolve("busy");
        Process holder = startLockHolder(out);
        try {
            for (Command c : commands()) {
                String error = refusedChangingNothing(c.args().apply(out.toString()));
                assertTrue(error.contains("--out") && error.contains("in use") && error.contains("pid " + holder.pid()), error);
            }
            // The same folder spelled another way is the same lock.
            String error = refusedChangingNothing(commands().get(2).args().apply(out + "/"));
            assertTrue(error.contains("pid " + holder.pid()), error);
        } finally {
            holder.destroyForcibly(); // SIGKILL: no cleanup, the lock file stays behind
            holder.waitFor();
        }
        Path lockFile = tmp.resolve(".busy.lock");
        assertTrue(Files.exists(lockFile), "a killed run leaves its lock file");
        Cli.run(commands().get(2).args().apply(out.toString())).assertOk();
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")), "the stale lock file did not block");
        assertFalse(Files.exists(lockFile), "a finished run removes its lock file");
    }

    @Test
    void aLockHeldInThisProcessRefusesTooWithoutBreakingIt() {
        Path out = tmp.resolve("mine");
        Path target = OutputFolder.resolve(out);
        try (OutputLock lock = OutputLock.acquire(target.resolveSibling(".mine.lock"), "--out " + out)) {
            String error = refusedChangingNothing(commands().get(2).args().apply(out.toString()));
            assertTrue(error.contains("pid " + ProcessHandle.current().pid()), error);
        }
        Cli.run(commands().get(2).args().apply(out.toString())).assertOk();
    }

    private static Process startLockHolder(Path out) throws IOException {
        List<String> command = List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), LockHolder.class.getName(), out.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = reader.readLine();
        assertEquals("locked", line, "the lock holder did not start");
        return p;
    }
}
