package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Set;

/**
 * An exclusive lock on an output path, held by the operating system for as long as this
 * process runs (a killed run leaves its lock file behind, but not the lock: the next run
 * takes it over). The lock file holds the holder's pid so that a second run can say who
 * has it. The file is deleted on release while still locked; a run that opened the old file
 * just then notices that the path now names another file (by its inode) and tries again.
 */
final class OutputLock implements AutoCloseable {

    private static final int ATTEMPTS = 5;

    /** Lock files held by this process (see {@link #acquire}). */
    private static final Set<Path> HELD = new HashSet<>();

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;
    private final Object key;

    private OutputLock(Path file, FileChannel channel, FileLock lock, Object key) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
        this.key = key;
    }

    /**
     * Takes the lock or fails at once (never waits).
     *
     * @param what how errors name the output, e.g. "--out /x/y"
     * @throws BadInputException if another run holds it (naming its pid), or the lock file
     *                           cannot be created (the output's folder is not writable)
     */
    static OutputLock acquire(Path file, String what) {
        synchronized (HELD) {
            // Checked before touching the file: on Linux, closing any descriptor of a locked
            // file releases the process's lock on it, so this process must never open a lock
            // file it already holds.
            if (HELD.contains(file)) {
                throw new BadInputException(what + ": in use by another lolcats run (pid " + ProcessHandle.current().pid()
                        + ", this very process; lock file " + file + ")");
            }
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                OutputLock lock = tryOnce(file, what);
                if (lock != null) {
                    HELD.add(file);
                    return lock;
                }
            }
        }
        throw new BadInputException(what + ": the lock file " + file + " keeps changing; is another run starting?");
    }

    /** The lock, or null if the path was swapped for another file meanwhile (try again). */
    private static OutputLock tryOnce(Path file, String what) {
        Object key;
        FileChannel channel;
        try {
            try {
                Files.createFile(file);
            } catch (FileAlreadyExistsException e) {
                // a lock file of a finished, killed or running run: the lock below decides
            }
            key = fileKey(file);
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new BadInputException(what + ": cannot create the lock file " + file + ": " + OutputFolder.reason(e));
        }
        try {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw new BadInputException(what + ": in use by another lolcats run (" + holder + ", lock file " + file
                        + "); wait for it to finish or stop it");
            }
            if (key == null || !key.equals(fileKey(file))) {
                // The previous holder deleted the file between our open and our lock.
                lock.release();
                channel.close();
                return null;
            }
            byte[] bytes = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
            channel.write(ByteBuffer.wrap(bytes), 0);
            channel.truncate(bytes.length);
            channel.force(false);
            return new OutputLock(file, channel, lock, key);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new BadInputException(what + ": cannot write the lock file " + file + ": " + OutputFolder.reason(e));
        }
    }

    /** Path of the lock file. */
    Path file() {
        return file;
    }

    /** Deletes the lock file (if the path still names ours) and releases the lock. */
    @Override
    public void close() {
        synchronized (HELD) {
            try {
                if (key.equals(fileKey(file))) {
                    Files.deleteIfExists(file);
                }
            } catch (IOException e) {
                // a leftover lock file is harmless: the next run takes it over
            } finally {
                try {
                    lock.release();
                } catch (IOException e) {
                    // closing the channel releases it as well
                }
                closeQuietly(channel);
                HELD.remove(file);
            }
        }
    }

    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    private static String holder(FileChannel channel) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate(128);
            channel.read(buffer, 0);
            String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).strip();
            String pid = text.isEmpty() ? "" : text.split("\\s+")[0];
            return pid.matches("\\d+") ? "pid " + pid : "pid unknown";
        } catch (IOException e) {
            return "pid unknown";
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing to add to the failure being reported
        }
    }
}
