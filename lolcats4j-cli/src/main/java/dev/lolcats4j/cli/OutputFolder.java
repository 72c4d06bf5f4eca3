package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * An output folder written all at once: the command writes into a hidden temporary sibling
 * ({@code .NAME.tmp-XXXX}), which is renamed to {@code --out} only when everything succeeded.
 * On failure the temporary folder is deleted and {@code --out} is left as it was. An existing
 * non-empty {@code --out} is refused unless {@code --force}; then it is replaced at the end.
 */
final class OutputFolder {

    private OutputFolder() {}

    /** Checks {@code out} before any work is done (fast failure, nothing written). */
    static void check(Path out, boolean force, Path... inputs) {
        Path abs = out.toAbsolutePath().normalize();
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            throw new BadInputException("--out " + out + ": exists and is a file, expected a folder");
        }
        for (Path in : inputs) {
            if (in != null && holds(abs, in)) {
                throw new BadInputException("--out " + out + ": must not be an input (" + in + ") or a folder holding one");
            }
        }
        if (!force && Files.isDirectory(abs) && !isEmpty(abs)) {
            throw new BadInputException("--out " + out + ": folder exists and is not empty (use --force to replace it)");
        }
    }

    /** Runs {@code body} on a temporary sibling folder, then moves it to {@code out}. */
    static void write(Path out, boolean force, Consumer<Path> body) {
        Path target = out.toAbsolutePath().normalize();
        Path parent = target.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            tmp = Files.createDirectory(parent.resolve("." + target.getFileName() + ".tmp-" + random()));
            body.accept(tmp);
            install(tmp, target, force);
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + out + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                deleteQuietly(tmp);
            }
        }
    }

    private static void install(Path tmp, Path target, boolean force) throws IOException {
        Path old = null;
        if (Files.isDirectory(target)) {
            if (!force && !isEmpty(target)) {
                throw new BadInputException("--out " + target + ": folder exists and is not empty (use --force to replace it)");
            }
            old = target.resolveSibling("." + target.getFileName() + ".old-" + random());
            move(target, old);
        }
        try {
            move(tmp, target);
        } catch (IOException e) {
            if (old != null) {
                move(old, target);
            }
            throw e;
        }
        if (old != null) {
            deleteQuietly(old);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    /** Whether {@code out} is {@code input} or one of its parent folders. */
    private static boolean holds(Path out, Path input) {
        Path in = input.toAbsolutePath().normalize();
        try {
            if (Files.exists(in) && Files.exists(out) && Files.isSameFile(in, out)) {
                return true;
            }
        } catch (IOException e) {
            // fall through to the textual check
        }
        return in.startsWith(out);
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        }
    }

    private static String random() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }

    static void deleteQuietly(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort; the original failure is what matters
        }
    }
}
