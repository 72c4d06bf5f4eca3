package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.data.PackedDataset.Sequence;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/** SHA-256 fingerprints of a model folder and of packed data, and CRC32C of files. */
public final class Fingerprints {

    /** Bytes hashed at each end of a weight file: enough to tell retrained weights apart without reading gigabytes. */
    static final int SAMPLE_BYTES = 1 << 20;

    private Fingerprints() {}

    /**
     * config.json, the index (if any), and for every *.safetensors file its name, size, and its
     * first and last {@link #SAMPLE_BYTES} bytes (the header, which holds every tensor's name,
     * dtype, shape and offsets, and a sample of the weights).
     */
    public static String model(Path modelDir) {
        MessageDigest sha = sha256();
        try {
            update(sha, "config.json");
            sha.update(Files.readAllBytes(modelDir.resolve("config.json")));
            Path index = modelDir.resolve("model.safetensors.index.json");
            if (Files.isRegularFile(index)) {
                update(sha, index.getFileName().toString());
                sha.update(Files.readAllBytes(index));
            }
            List<Path> files;
            try (Stream<Path> s = Files.list(modelDir)) {
                files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            for (Path file : files) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    long size = ch.size();
                    update(sha, file.getFileName() + ":" + size);
                    sha.update(read(ch, 0, (int) Math.min(size, SAMPLE_BYTES)));
                    long tail = Math.max(0, size - SAMPLE_BYTES);
                    sha.update(read(ch, tail, (int) (size - tail)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("fingerprinting " + modelDir + ": " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Every packed sequence (tokens and which targets count), train then held-out, and the order seed. */
    public static String data(PackedDataset data) {
        MessageDigest sha = sha256();
        update(sha, "seed:" + data.seed() + " train:" + data.train().size() + " held-out:" + data.heldOut().size());
        for (List<Sequence> part : List.of(data.train(), data.heldOut())) {
            for (Sequence s : part) {
                ByteBuffer b = ByteBuffer.allocate(s.tokens().length * 4 + s.targetCounts().length).order(ByteOrder.LITTLE_ENDIAN);
                for (int t : s.tokens()) {
                    b.putInt(t);
                }
                for (boolean c : s.targetCounts()) {
                    b.put((byte) (c ? 1 : 0));
                }
                sha.update(b.array());
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** CRC32C of a whole file, as 8 hex digits. */
    public static String crc32c(Path file) {
        CRC32C crc = new CRC32C();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(buffer) >= 0) {
                buffer.flip();
                crc.update(buffer);
                buffer.clear();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
        return String.format("%08x", crc.getValue());
    }

    private static byte[] read(FileChannel ch, long position, int bytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(bytes);
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) {
                break;
            }
        }
        return b.array();
    }

    private static void update(MessageDigest sha, String text) {
        sha.update(text.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
