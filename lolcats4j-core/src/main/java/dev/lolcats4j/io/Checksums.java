package dev.lolcats4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * CRC32C checksums of files and folders, to notice damaged checkpoints and inputs that changed
 * between a run and its resumption. CRC32C detects accidental damage (truncation, flipped or
 * zeroed blocks) and runs at memory speed (the JIT uses the CPU's CRC instruction), so hashing
 * a multi-gigabyte model costs seconds. It is not a defence against deliberate forgery.
 */
public final class Checksums {

    /** Prefix of every value these methods return, so a stored value says how it was made. */
    public static final String PREFIX = "crc32c:";

    /** File extensions that carry a model, adapter, tokenizer or data (other files in a folder are ignored). */
    private static final Set<String> CONTENT_EXTENSIONS = Set.of("json", "jsonl", "safetensors", "txt", "md", "model");

    private static final int BUFFER_BYTES = 1 << 20;

    private Checksums() {}

    /** {@code crc32c:xxxxxxxx} of a file's bytes. */
    public static String file(Path file) {
        CRC32C crc = new CRC32C();
        update(crc, file);
        return format(crc);
    }

    /**
     * The checksum of an input path: a file's bytes, or for a folder the names and bytes of
     * its content files (json, jsonl, safetensors, txt, md, model; hidden files and other
     * extensions skipped), walked recursively in name order. A missing path gives "absent".
     */
    public static String path(Path path) {
        if (!Files.exists(path)) {
            return "absent";
        }
        if (!Files.isDirectory(path)) {
            // a FIFO or device would block or never end; the data readers refuse those anyway
            return Files.isRegularFile(path) ? file(path) : "not a regular file";
        }
        CRC32C crc = new CRC32C();
        try (Stream<Path> walk = Files.walk(path)) {
            List<Path> files = walk.filter(Files::isRegularFile).filter(Checksums::isContent)
                    .sorted((a, b) -> path.relativize(a).toString().compareTo(path.relativize(b).toString())).toList();
            for (Path f : files) {
                crc.update(path.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
                crc.update(0);
                update(crc, f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path + ": " + e.getMessage(), e);
        }
        return format(crc);
    }

    /** {@code crc32c:xxxxxxxx} of ints (little-endian), e.g. token ids. */
    public static String ints(Iterable<int[]> arrays) {
        CRC32C crc = new CRC32C();
        ByteBuffer buffer = ByteBuffer.allocate(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int[] values : arrays) {
            buffer.putInt(values.length);
            for (int v : values) {
                if (buffer.remaining() < 8) {
                    buffer.flip();
                    crc.update(buffer);
                    buffer.clear();
                }
                buffer.putInt(v);
            }
        }
        buffer.flip();
        crc.update(buffer);
        return format(crc);
    }

    private static boolean isContent(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return !name.startsWith(".") && dot > 0 && CONTENT_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static void update(CRC32C crc, Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
            while (channel.read(buffer) >= 0) {
                buffer.flip();
                crc.update(buffer);
                buffer.clear();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
    }

    private static String format(CRC32C crc) {
        return PREFIX + HexFormat.of().toHexDigits((int) crc.getValue());
    }
}
