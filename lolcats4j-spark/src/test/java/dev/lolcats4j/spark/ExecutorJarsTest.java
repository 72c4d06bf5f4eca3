package dev.lolcats4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the driver ships to cluster executors, for the class path ./lolcats builds. */
class ExecutorJarsTest {

    @Test
    void followsTheCliJarsManifestKeepsOurJarsDropsSparksAndPacksClassFolders(@TempDir Path tmp) throws Exception {
        Path lib = Files.createDirectories(tmp.resolve("cli/lib"));
        for (String name : new String[] {"lolcats4j-core-0.1.0-SNAPSHOT.jar", "pytorch-2.10.0-1.5.13-linux-x86_64.jar", "picocli-4.7.7.jar"}) {
            jar(lib.resolve(name), null);
        }
        Path cli = jar(tmp.resolve("cli/lolcats4j-cli.jar"),
                "lib/lolcats4j-core-0.1.0-SNAPSHOT.jar lib/pytorch-2.10.0-1.5.13-linux-x86_64.jar lib/picocli-4.7.7.jar");
        Path sparkCore = jar(Files.createDirectories(tmp.resolve("spark-lib")).resolve("spark-core_2.13-4.1.3.jar"), null);
        Path classes = Files.createDirectories(tmp.resolve("module/classes/dev/x"));
        Files.writeString(classes.resolve("A.class"), "not really a class");

        String classPath = String.join(java.io.File.pathSeparator, cli.toString(), sparkCore.toString(), tmp.resolve("module/classes").toString());
        Set<String> wanted = Set.of("pytorch-2.10.0-1.5.13-linux-x86_64.jar", "picocli-4.7.7.jar");
        List<String> shipped = List.of(ExecutorJars.forExecutors(classPath, wanted, tmp.resolve("scratch")).split(","));

        assertEquals(5, shipped.size(), shipped.toString());
        assertTrue(shipped.stream().anyMatch(u -> u.endsWith("/cli/lolcats4j-cli.jar")), shipped.toString());
        assertTrue(shipped.stream().anyMatch(u -> u.endsWith("/lib/lolcats4j-core-0.1.0-SNAPSHOT.jar")), "our jars by name");
        assertTrue(shipped.stream().anyMatch(u -> u.endsWith("/lib/pytorch-2.10.0-1.5.13-linux-x86_64.jar")), "listed dependencies");
        assertTrue(shipped.stream().noneMatch(u -> u.contains("spark-core")), "Spark's own jars stay home");
        String packed = shipped.stream().filter(u -> u.contains("/scratch/")).findFirst().orElseThrow();
        try (JarFile jar = new JarFile(Path.of(java.net.URI.create(packed)).toFile())) {
            assertTrue(jar.getEntry("dev/x/A.class") != null, "class folder packed with its package paths");
        }
    }

    private static Path jar(Path file, String classPath) throws Exception {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (classPath != null) {
            manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath);
        }
        Files.createDirectories(file.getParent());
        try (OutputStream out = Files.newOutputStream(file); JarOutputStream jar = new JarOutputStream(out, manifest)) {
            // manifest only
        }
        return file;
    }
}
