package dev.lolcats4j.spark;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * The jars a cluster's executors need to run block jobs: lolcats4j and the libraries it uses
 * (libtorch and friends), taken from this JVM's class path, without Spark's own jars (every
 * executor has those). Used for {@code spark.jars} when the user set none; a user who
 * submitted the shaded jar with spark-submit already has it in {@code spark.jars}.
 *
 * <p>The build writes the file names of the module's runtime dependencies (Spark is a
 * provided dependency, so it is not among them) to {@value #LIST_RESOURCE}; class folders
 * (a Maven build's {@code target/classes}) are packed into jars, since Spark ships only files.
 */
final class ExecutorJars {

    static final String LIST_RESOURCE = "/dev/lolcats4j/spark/executor-classpath.txt";

    private ExecutorJars() {}

    /** Comma-separated URIs for {@code spark.jars}; class folders are packed into {@code scratchDir}. */
    static String forExecutors(Path scratchDir) {
        return forExecutors(System.getProperty("java.class.path", ""), wantedJarNames(), scratchDir);
    }

    static String forExecutors(String classPath, Set<String> wanted, Path scratchDir) {
        List<String> uris = new ArrayList<>();
        int folderIndex = 0;
        for (Path entry : classPathEntries(classPath)) {
            if (Files.isDirectory(entry)) {
                uris.add(packFolder(entry, scratchDir.resolve("classes-" + (folderIndex++) + ".jar")).toUri().toString());
            } else if (Files.isRegularFile(entry) && isWanted(entry.getFileName().toString(), wanted)) {
                uris.add(entry.toUri().toString());
            }
        }
        return String.join(",", uris);
    }

    static boolean isWanted(String jarName, Set<String> wanted) {
        return jarName.startsWith("lolcats4j-") || wanted == null || wanted.contains(jarName);
    }

    /** Null when the list is missing (then every jar ships: harmless, only slower). */
    static Set<String> wantedJarNames() {
        try (InputStream in = ExecutorJars.class.getResourceAsStream(LIST_RESOURCE)) {
            if (in == null) {
                return null;
            }
            Set<String> names = new LinkedHashSet<>();
            for (String path : new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().split(File.pathSeparator)) {
                if (!path.isBlank()) {
                    names.add(Path.of(path.trim()).getFileName().toString());
                }
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** java.class.path, plus the Class-Path of each jar's manifest (the CLI jar lists its lib folder there). */
    static List<Path> classPathEntries(String classPath) {
        Set<Path> entries = new LinkedHashSet<>();
        for (String item : classPath.split(File.pathSeparator)) {
            if (!item.isBlank()) {
                addWithManifest(Path.of(item).toAbsolutePath().normalize(), entries);
            }
        }
        return new ArrayList<>(entries);
    }

    private static void addWithManifest(Path entry, Set<Path> entries) {
        if (!entries.add(entry) || !Files.isRegularFile(entry) || !entry.toString().endsWith(".jar")) {
            return;
        }
        try (JarFile jar = new JarFile(entry.toFile())) {
            if (jar.getManifest() == null) {
                return;
            }
            String classPath = jar.getManifest().getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (classPath == null) {
                return;
            }
            for (String relative : classPath.trim().split("\\s+")) {
                addWithManifest(entry.getParent().resolve(relative).normalize(), entries);
            }
        } catch (IOException e) {
            // Not a readable jar: Spark would fail on it too; leave it to Spark's message.
        }
    }

    private static Path packFolder(Path folder, Path jar) {
        try {
            Files.createDirectories(jar.getParent());
            try (OutputStream file = Files.newOutputStream(jar);
                    JarOutputStream out = new JarOutputStream(file);
                    Stream<Path> files = Files.walk(folder)) {
                for (Path path : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                    out.putNextEntry(new JarEntry(folder.relativize(path).toString().replace(File.separatorChar, '/')));
                    Files.copy(path, out);
                    out.closeEntry();
                }
            }
            return jar;
        } catch (IOException e) {
            throw new UncheckedIOException("could not pack " + folder + " into " + jar + " for the executors", e);
        }
    }
}
