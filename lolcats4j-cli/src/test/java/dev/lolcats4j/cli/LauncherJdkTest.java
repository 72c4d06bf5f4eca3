package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's JDK check (scripts/find-jdk.sh) asks for 22, what the build and the kernels need. */
class LauncherJdkTest {

    @TempDir
    Path tmp;

    /** A folder that looks like a JDK of the given version to the script (release file, bin/java, bin/javac). */
    private Path fakeJdk(String name, String version) throws Exception {
        Path home = tmp.resolve(name);
        Files.createDirectories(home.resolve("bin"));
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"" + version + "\"\n");
        for (String tool : new String[] {"java", "javac"}) {
            Path p = home.resolve("bin").resolve(tool);
            Files.writeString(p, "#!/bin/sh\nexit 0\n");
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return home;
    }

    private static int isJdk(Path home) throws Exception {
        Path script = Path.of("").toAbsolutePath().getParent().resolve("scripts/find-jdk.sh");
        assertTrue(Files.isRegularFile(script), script.toString());
        Process p = new ProcessBuilder("bash", "-c", ". \"$0\"; lolcats_is_jdk \"$1\"", script.toString(), home.toString()).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        p.getErrorStream().readAllBytes();
        return p.exitValue();
    }

    @Test
    void jdk21IsRefusedAnd22Accepted() throws Exception {
        assertEquals(1, isJdk(fakeJdk("jdk21", "21.0.5")), "21 cannot build or run the kernels");
        assertEquals(0, isJdk(fakeJdk("jdk22", "22.0.2")));
        assertEquals(0, isJdk(fakeJdk("jdk25", "25.0.3")));
        String readme = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("README.md"), StandardCharsets.UTF_8);
        assertTrue(readme.contains("JDK >= 22") && !readme.contains("JDK >= 21"), "README states the same minimum");
    }
}
