package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's choice of malloc to preload (scripts/allocator.sh). */
class LauncherAllocatorTest {

    @TempDir
    Path tmp;

    private record Choice(int exit, String preload, String err) {}

    private Choice choose(String setting, String current, String tcmallocPaths) throws Exception {
        Path script = Path.of("").toAbsolutePath().getParent().resolve("scripts/allocator.sh");
        assertTrue(Files.isRegularFile(script), script.toString());
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", ". \"$0\"; lolcats_allocator_preload \"$1\" \"$2\"", script.toString(),
                setting, current);
        pb.environment().put("LOLCATS_TCMALLOC_PATHS", tcmallocPaths);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Choice(p.exitValue(), out, err);
    }

    /** A file that starts like a shared library (the script only reads the ELF magic). */
    private Path fakeLibrary(String name) throws Exception {
        Path lib = tmp.resolve(name);
        Files.write(lib, new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        return lib;
    }

    @Test
    void autoPreloadsTheFirstTcmallocFoundAndLeavesAUsersPreloadAlone() throws Exception {
        Path tcmalloc = fakeLibrary("libtcmalloc_minimal.so.4");
        String paths = tmp.resolve("missing.so") + ":" + tcmalloc;
        assertEquals(new Choice(0, tcmalloc.toString(), ""), choose("auto", "", paths));
        assertEquals(new Choice(0, "/opt/mine.so", ""), choose("auto", "/opt/mine.so", paths));
        assertEquals(new Choice(0, "", ""), choose("auto", "", tmp.resolve("missing.so").toString()), "none installed: glibc");
        assertEquals(new Choice(0, "", ""), choose("glibc", "", paths));
    }

    @Test
    void aLibraryPathIsResolvedAndPutInFront() throws Exception {
        Path lib = fakeLibrary("libjemalloc.so.2");
        Path link = tmp.resolve("link.so");
        Files.createSymbolicLink(link, lib);
        assertEquals(new Choice(0, lib.toRealPath() + " /opt/mine.so", ""), choose(link.toString(), "/opt/mine.so", ""));
    }

    @Test
    void anythingElseIsOneLineAndExitTwo() throws Exception {
        Path text = tmp.resolve("notes.txt");
        Files.writeString(text, "not a library");
        for (String bad : new String[] {text.toString(), tmp.resolve("missing.so").toString(), tmp.toString(), "tcmalloc", ""}) {
            Choice c = choose(bad, "", "");
            assertEquals(2, c.exit(), bad);
            assertEquals("", c.preload(), bad);
            assertEquals(1, c.err().lines().count(), c.err());
            assertTrue(c.err().startsWith("lolcats: LOLCATS_ALLOCATOR: expected auto, glibc or a malloc shared library")
                    && c.err().contains("'" + bad + "'"), c.err());
        }
    }
}
