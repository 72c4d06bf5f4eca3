package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.WriteFailedException;
import dev.lolcats4j.train.TrainLoop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * The one place where commands claim their output folder ({@code --out}). Every command that
 * writes goes through it, so every command gets the same guarantees:
 * <ul>
 *   <li>the output is never one of the command's inputs, inside one, or a folder holding one,
 *       however the paths are spelled (relative, symlinks, {@code ..}, trailing slashes, bind
 *       mounts): paths are compared after resolving them on disk, and the command then writes to
 *       the resolved path, so the check and the writes see the same folder;</li>
 *   <li>a non-empty output is refused unless {@code --force} (replace it) or {@code --resume}
 *       (continue the run in it);</li>
 *   <li>an exclusive lock ({@code .NAME.lock} next to the folder, holding the pid) for the whole
 *       run: a second run on the same output stops at once naming the holder. It sits beside the
 *       folder, not inside, so that replacing the folder cannot slip it away from under a run;</li>
 *   <li>nothing half-written: {@link #writeAtomically} builds the result in a hidden temporary
 *       sibling renamed into place at the end; {@link #writeInPlace} (training, which must be
 *       resumable) removes what a failed run wrote unless a checkpoint makes it resumable;</li>
 *   <li>failing to write the output (no space left, permission denied, read-only file system) is
 *       reported as one line naming the flag, exit 2: the destination is the user's choice.</li>
 * </ul>
 */
final class OutputFolder {

    /** What the command does with the folder. */
    interface Body {
        /** Writes into {@code dir}; returns the command's exit code (non-zero counts as a failure). */
        int write(Path dir) throws Exception;
    }

    private record Input(String flag, Path path) {}

    private final String flag;
    private final Path out;
    private final List<Input> inputs = new ArrayList<>();
    private boolean force;
    private boolean resume;
    private boolean resumable;
    private List<String> trainFolders = List.of();

    private OutputFolder(String flag, Path out) {
        this.flag = flag;
        this.out = out;
    }

    /** The output named by {@code flag}, e.g. {@code OutputFolder.of("--out", out)}. */
    static OutputFolder of(String flag, Path out) {
        return new OutputFolder(flag, Objects.requireNonNull(out, flag));
    }

    /** {@code --force}: an existing non-empty folder is replaced. */
    OutputFolder force(boolean force) {
        this.force = force;
        return this;
    }

    /**
     * {@code --resume}: an existing folder is continued (only for commands that can). A
     * non-empty folder must then hold a checkpoint in one of {@code trainFolders} (relative to
     * it): resuming into some other folder would mix this run's files with its content.
     */
    OutputFolder resume(boolean resume, String... trainFolders) {
        this.resume = resume;
        this.resumable = true;
        this.trainFolders = List.of(trainFolders);
        return this;
    }

    /** Inputs the output must stay clear of; null paths are ignored. */
    OutputFolder inputs(String inputFlag, Path... paths) {
        for (Path p : paths) {
            if (p != null) {
                inputs.add(new Input(inputFlag, p));
            }
        }
        return this;
    }

    OutputFolder inputs(String inputFlag, List<Path> paths) {
        return paths == null ? this : inputs(inputFlag, paths.toArray(Path[]::new));
    }

    /**
     * Checks everything that can be checked without writing: call it before any expensive step.
     * Returns the resolved output path.
     */
    Path check() {
        if (force && resume) {
            throw new BadInputException("--force and --resume: give one of them (--force replaces " + out + ", --resume continues it)");
        }
        Path target = resolve(out);
        if (target.getParent() == null) {
            throw bad("cannot write over the root of the file system");
        }
        if (Files.exists(target) && !Files.isDirectory(target)) {
            throw bad("exists and is not a folder");
        }
        for (Input in : inputs) {
            checkApart(target, in);
        }
        if (!force && !resume && !isEmpty(target)) {
            throw bad("folder exists and is not empty (use --force to replace it" + (resumable ? ", or --resume to continue the run in it)" : ")"));
        }
        if (resume && !isEmpty(target) && !trainFolders.isEmpty()
                && trainFolders.stream().noneMatch(f -> TrainLoop.hasCheckpoint(target.resolve(f)))) {
            throw bad("nothing to resume: no checkpoint in " + String.join(" or ", trainFolders.stream()
                    .map(f -> f + "/checkpoint").toList()) + " (use --force to replace the folder)");
        }
        if (Files.isDirectory(target) && !Files.isWritable(target)) {
            throw bad("folder is not writable (permission denied)");
        }
        return target;
    }

    /**
     * For commands that write their result in one go (merge, import-reference): {@code body}
     * writes into an empty hidden sibling, which replaces the output only if it succeeds.
     */
    int writeAtomically(Body body) {
        Path target = check();
        List<Path> createdParents = createParents(target);
        Path tmp = null;
        boolean ok = false;
        try (OutputLock lock = OutputLock.acquire(lockFile(target), describe())) {
            check(); // again under the lock: another run may have written it in the meantime
            deleteStaleSiblings(target);
            tmp = Files.createDirectory(target.resolveSibling(hidden(target, "tmp")));
            int code = body.write(tmp);
            if (code == Main.EXIT_OK) {
                install(tmp, target);
                tmp = null;
                ok = true;
            }
            return code;
        } catch (Exception e) {
            throw translate(e, target, false);
        } finally {
            if (tmp != null) {
                deleteQuietly(tmp);
            }
            if (!ok) {
                deleteEmpty(createdParents);
            }
        }
    }

    /**
     * For training commands, whose output is also their work folder (checkpoints for
     * {@code --resume}): {@code body} writes into the output itself. With {@code --force} the
     * old content is moved aside first and deleted once the run succeeds (or put back if the
     * run fails before writing a checkpoint). A failed run's own files are removed unless they
     * hold a checkpoint, which then stays for {@code --resume}.
     */
    int writeInPlace(Body body) {
        Path target = check();
        List<Path> createdParents = createParents(target);
        Path old = null;
        boolean created = false;
        boolean ownsContents = false; // whether everything in the folder is this run's doing
        boolean ok = false;
        try (OutputLock lock = OutputLock.acquire(lockFile(target), describe())) {
            check();
            deleteStaleSiblings(target);
            if (force && Files.exists(target)) {
                old = target.resolveSibling(hidden(target, "old"));
                move(target, old);
            }
            ownsContents = isEmpty(target);
            if (!Files.isDirectory(target)) {
                Files.createDirectory(target);
                created = true;
            }
            int code;
            try {
                code = body.write(target);
            } catch (Exception e) {
                throw translate(e, target, hasCheckpoint(target));
            }
            ok = code == Main.EXIT_OK;
            return code;
        } catch (IOException e) {
            throw translate(e, target, false);
        } finally {
            if (!ok && ownsContents && !hasCheckpoint(target)) {
                if (created) {
                    deleteQuietly(target);
                    if (old != null && moveQuietly(old, target)) {
                        old = null;
                    }
                } else {
                    deleteContentsQuietly(target);
                }
            }
            if (old != null) {
                deleteQuietly(old);
            }
            if (!ok) {
                deleteEmpty(createdParents);
            }
        }
    }

    private String describe() {
        return flag + " " + out;
    }

    private BadInputException bad(String problem) {
        return new BadInputException(describe() + ": " + problem);
    }

    // ---- where the output may not be -------------------------------------------------------

    private void checkApart(Path target, Input in) {
        Path input = resolve(in.path());
        String what = in.flag() + " " + in.path();
        if (target.equals(input) || sameFile(target, input)) {
            throw bad("is the input " + what + "; write somewhere else");
        }
        if (target.startsWith(input) || ancestorIsSameFile(target, input)) {
            throw bad("is inside the input " + what + "; write somewhere else");
        }
        if (input.startsWith(target) || ancestorIsSameFile(input, target)) {
            throw bad("holds the input " + what + "; write somewhere else");
        }
    }

    /**
     * The path as the operating system resolves it: the deepest existing ancestor made real
     * (symlinks followed, {@code ..} applied after them, as the kernel does), then the missing
     * rest, normalised.
     */
    static Path resolve(Path path) {
        Path p = path.toAbsolutePath();
        Path missing = null;
        while (p != null && !Files.exists(p)) {
            Path name = p.getFileName();
            missing = missing == null ? name : name.resolve(missing);
            p = p.getParent();
        }
        try {
            Path real = p == null ? Path.of("/") : p.toRealPath();
            return missing == null ? real : real.resolve(missing).normalize();
        } catch (IOException e) {
            return path.toAbsolutePath().normalize();
        }
    }

    /** Same file or folder on disk (also through bind mounts and hard links). */
    private static boolean sameFile(Path a, Path b) {
        Object ka = fileKey(a);
        return ka != null && ka.equals(fileKey(b));
    }

    /** Whether an existing ancestor of {@code inner} is the folder {@code outer} (by identity on disk). */
    private static boolean ancestorIsSameFile(Path inner, Path outer) {
        Object key = fileKey(outer);
        if (key == null) {
            return false;
        }
        for (Path p = inner.getParent(); p != null; p = p.getParent()) {
            if (key.equals(fileKey(p))) {
                return true;
            }
        }
        return false;
    }

    private static Object fileKey(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    // ---- the folder's neighbours: lock, temporary and old copies ---------------------------

    private static Path lockFile(Path target) {
        return target.resolveSibling(hidden(target, "lock"));
    }

    /** {@code .NAME.KIND} or {@code .NAME.KIND-RANDOM}: the hidden siblings this class makes. */
    private static String hidden(Path target, String kind) {
        String base = "." + target.getFileName() + "." + kind;
        return kind.equals("lock") ? base : base + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }

    /** Temporary and old copies left by a killed run; safe to delete since we hold the lock. */
    private static void deleteStaleSiblings(Path target) throws IOException {
        String tmp = "." + target.getFileName() + ".tmp-";
        String old = "." + target.getFileName() + ".old-";
        try (Stream<Path> siblings = Files.list(target.getParent())) {
            for (Path s : siblings.toList()) {
                String name = s.getFileName().toString();
                if (name.startsWith(tmp) || name.startsWith(old)) {
                    deleteQuietly(s);
                }
            }
        }
    }

    private List<Path> createParents(Path target) {
        List<Path> created = new ArrayList<>();
        Path parent = target.getParent();
        List<Path> missing = new ArrayList<>();
        for (Path p = parent; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
            missing.add(0, p);
        }
        for (Path p : missing) {
            try {
                Files.createDirectory(p);
                created.add(0, p);
            } catch (IOException e) {
                deleteEmpty(created);
                throw bad("cannot create the folder " + p + ": " + reason(e));
            }
        }
        return created;
    }

    private static void install(Path tmp, Path target) throws IOException {
        Path old = null;
        if (Files.exists(target)) {
            old = target.resolveSibling(hidden(target, "old"));
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

    private static boolean moveQuietly(Path from, Path to) {
        try {
            move(from, to);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean hasCheckpoint(Path dir) {
        try (Stream<Path> files = Files.walk(dir, 4)) {
            return files.anyMatch(p -> p.getFileName().toString().equals("checkpoint") && TrainLoop.hasCheckpoint(p.getParent()));
        } catch (IOException | UncheckedIOException e) {
            return false;
        }
    }

    // ---- failures -------------------------------------------------------------------------

    /**
     * A failure to write under the output (or its lock and temporary siblings) becomes bad
     * input naming the flag; anything else is passed on unchanged.
     */
    private RuntimeException translate(Exception e, Path target, boolean checkpointKept) {
        String keep = checkpointKept ? "; the checkpoint in it is kept: --resume continues from it" : "";
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadInputException) {
                return (BadInputException) t;
            }
            if (t instanceof WriteFailedException w && (under(w.file(), target) || mentionsNoSpace(w.getCause()))) {
                return bad(w.reason() + " (writing " + shown(w.file(), target) + ")" + keep);
            }
            if (t instanceof FileSystemException fs && fs.getFile() != null && under(Path.of(fs.getFile()), target)) {
                return bad(reason(fs) + " (writing " + shown(Path.of(fs.getFile()), target) + ")" + keep);
            }
            if (t instanceof IOException io && mentionsNoSpace(io)) {
                return bad(reason(io) + keep);
            }
        }
        if (e instanceof RuntimeException r) {
            return r;
        }
        return new IllegalStateException(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), e);
    }

    private boolean under(Path file, Path target) {
        Path f = file.toAbsolutePath().normalize();
        Path given = out.toAbsolutePath().normalize();
        Path parent = target.getParent();
        String prefix = "." + target.getFileName() + ".";
        return f.startsWith(target) || f.startsWith(given)
                || (f.getParent() != null && f.getParent().equals(parent) && f.getFileName().toString().startsWith(prefix))
                || resolve(f).startsWith(target);
    }

    private String shown(Path file, Path target) {
        Path f = file.toAbsolutePath().normalize();
        for (Path base : List.of(target, out.toAbsolutePath().normalize())) {
            if (f.startsWith(base) && !f.equals(base)) {
                return base.relativize(f).toString();
            }
        }
        return file.getFileName() == null ? file.toString() : file.getFileName().toString();
    }

    private static boolean mentionsNoSpace(Throwable t) {
        String m = t == null ? null : t.getMessage();
        return m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded")
                || m.contains("Read-only file system") || m.contains("File too large"));
    }

    /** The operating system's reason for an I/O failure, in a few words. */
    static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "folder not found";
        }
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    // ---- small file helpers -----------------------------------------------------------------

    private static boolean isEmpty(Path dir) {
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        }
    }

    private static void deleteEmpty(List<Path> folders) {
        for (Path p : folders) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                // not empty (someone else wrote there) or gone: leave it
            }
        }
    }

    private static void deleteContentsQuietly(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            s.toList().forEach(OutputFolder::deleteQuietly);
        } catch (IOException | UncheckedIOException e) {
            // best effort
        }
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort; the original failure is what matters
        }
    }
}
