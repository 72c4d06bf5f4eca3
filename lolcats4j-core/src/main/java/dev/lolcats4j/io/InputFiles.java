package dev.lolcats4j.io;

import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The check every user-supplied input path goes through before it is opened: data, task
 * files, model and adapter folders and their files, reference checkpoints. Only regular files
 * and folders are read (symlinks followed). A FIFO blocks the reader until someone writes to
 * it, and a device such as /dev/zero never ends, so both are refused up front as bad input.
 */
public final class InputFiles {

    /** Cap for small JSON files (config.json, lolcats_config.json, tokenizer_config.json, task headers): 64 MiB. */
    public static final long MAX_JSON_BYTES = 64L << 20;

    private InputFiles() {}

    /**
     * Refuses a path that exists but is neither a regular file nor a folder; a missing path
     * passes (the caller says what it expected there).
     *
     * @return {@code path}
     */
    public static Path refuseSpecial(Path path) {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return path;
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (attributes.isOther()) {
            throw new BadInputException(path + ": expected a regular file or folder, found " + kind(path));
        }
        return path;
    }

    /** {@link #refuseSpecial}, then refuses a regular file larger than {@code maxBytes}. */
    public static Path refuseLarger(Path file, long maxBytes) {
        refuseSpecial(file);
        try {
            if (Files.isRegularFile(file) && Files.size(file) > maxBytes) {
                throw new BadInputException(file + ": expected at most " + maxBytes + " bytes, found " + Files.size(file));
            }
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return file;
    }

    /** "a FIFO", "a character device", ... from the Unix file mode when the platform has it. */
    private static String kind(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return switch (mode & 0170000) {
                case 0010000 -> "a FIFO (named pipe)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return "a special file (FIFO, device or socket)";
        }
    }
}
