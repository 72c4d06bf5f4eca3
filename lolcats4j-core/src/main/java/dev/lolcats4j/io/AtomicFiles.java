package dev.lolcats4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files so that readers see either the old content or the complete new content, never a
 * partial file: the bytes go to a hidden temporary file in the same folder, which is synced and
 * then renamed over the target. If anything fails the temporary file is deleted and the target
 * is left untouched. Missing parent folders are created.
 */
public final class AtomicFiles {

    private static final int BUFFER_BYTES = 1 << 20;

    private AtomicFiles() {
    }

    /** Atomically replaces {@code file} with {@code text} in UTF-8. */
    public static void writeString(Path file, String text) {
        write(file, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Creates a folder and its parents if missing; I/O failures are unchecked. */
    public static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new WriteFailedException(dir, e);
        }
    }

    /**
     * Atomically replaces {@code file} with whatever {@code body} writes to the stream. The
     * stream is buffered; {@code body} must not close it.
     *
     * @throws WriteFailedException if writing or renaming fails, including an IOException
     *                              thrown by {@code body} (its unchecked exceptions propagate
     *                              unchanged)
     */
    public static void write(Path file, IOConsumer<OutputStream> body) {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = dir.resolve("." + target.getFileName() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), BUFFER_BYTES);
                body.accept(out);
                out.flush();
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (IOException e) {
            throw new WriteFailedException(file, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; the original failure is what matters
                }
            }
        }
    }
}
