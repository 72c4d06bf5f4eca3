package dev.lolcats4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Writing {@link #file()} failed (no space left, permission denied, a read-only file system...).
 * Carries the path so that the command line can tell a failure of the user's chosen output
 * folder (bad input, exit 2) from other I/O failures.
 */
public final class WriteFailedException extends UncheckedIOException {

    private final transient Path file;

    public WriteFailedException(Path file, IOException cause) {
        super("writing " + file + ": " + reason(cause), cause);
        this.file = file;
    }

    /** The file or folder that could not be written. */
    public Path file() {
        return file;
    }

    /** The operating system's reason, e.g. "No space left on device". */
    public String reason() {
        return reason(getCause());
    }

    private static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "folder not found";
        }
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
