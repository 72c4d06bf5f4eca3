package dev.lolcats4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files: an 8-byte little-endian header length, a compact JSON header padded
 * with spaces to a multiple of 8 bytes (so tensor data starts 8-byte aligned), then the tensors'
 * bytes in map order. Every file is written atomically through {@link AtomicFiles}.
 */
public final class SafetensorsWriter {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int COPY_CHUNK = 1 << 20;

    private SafetensorsWriter() {
    }

    /**
     * Writes {@code tensors} (in map order) to {@code file}, replacing it atomically.
     *
     * @param metadata the {@code __metadata__} strings (written in key order); may be empty or null
     * @throws IllegalArgumentException if a name is empty or {@code __metadata__}
     * @throws UncheckedIOException     on I/O failure (the target is then left untouched)
     */
    public static void write(Path file, Map<String, TensorData> tensors, Map<String, String> metadata) {
        byte[] header = header(tensors, metadata);
        AtomicFiles.write(file, out -> {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            out.write(header);
            byte[] chunk = new byte[COPY_CHUNK];
            for (TensorData t : tensors.values()) {
                copy(t.data(), out, chunk);
            }
        });
    }

    /**
     * Writes a Hugging Face weight folder: a single {@code model.safetensors} when the tensors
     * fit in {@code maxShardBytes}, else {@code model-0000i-of-0000n.safetensors} shards (filled
     * greedily in map order; a tensor larger than the limit gets a shard of its own) plus
     * {@code model.safetensors.index.json}. Every file carries {@code {"format": "pt"}} metadata
     * as Hugging Face expects. When writing a single file, a stale index in {@code dir} is
     * deleted so that it cannot shadow the new weights.
     */
    public static void writeSharded(Path dir, Map<String, TensorData> tensors, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        Map<String, String> meta = Map.of("format", "pt");
        List<Map<String, TensorData>> shards = new ArrayList<>();
        Map<String, TensorData> current = new LinkedHashMap<>();
        long currentBytes = 0;
        long totalBytes = 0;
        for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
            long bytes = e.getValue().byteSize();
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += bytes;
            totalBytes += bytes;
        }
        shards.add(current);
        if (shards.size() == 1) {
            write(dir.resolve(WeightFolder.SINGLE_FILE), current, meta);
            try {
                Files.deleteIfExists(dir.resolve(WeightFolder.INDEX_FILE));
            } catch (IOException e) {
                throw new UncheckedIOException("deleting stale index in " + dir + ": " + e.getMessage(), e);
            }
            return;
        }
        int n = shards.size();
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, n);
            write(dir.resolve(name), shards.get(i), meta);
            for (String key : shards.get(i).keySet()) {
                weightMap.put(key, name);
            }
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("metadata", Map.of("total_size", totalBytes));
        index.put("weight_map", weightMap);
        try {
            AtomicFiles.writeString(dir.resolve(WeightFolder.INDEX_FILE),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The JSON header bytes, padded with spaces to a multiple of 8. */
    static byte[] header(Map<String, TensorData> tensors, Map<String, String> metadata) {
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            // Sorted: callers pass Map.of(...), whose order changes from one JVM run to the next,
            // and identical runs must write identical bytes.
            header.put(SafetensorsFile.METADATA_KEY, new java.util.TreeMap<>(metadata));
        }
        long offset = 0;
        for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isEmpty() || name.equals(SafetensorsFile.METADATA_KEY)) {
                throw new IllegalArgumentException("invalid tensor name: \"" + name + "\"");
            }
            TensorData t = e.getValue();
            long end = offset + t.byteSize();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().safetensorsName());
            entry.put("shape", t.shape());
            entry.put("data_offsets", new long[] {offset, end});
            header.put(name, entry);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            out[i] = ' ';
        }
        return out;
    }

    private static void copy(ByteBuffer src, OutputStream out, byte[] chunk) throws IOException {
        if (src.hasArray()) {
            out.write(src.array(), src.arrayOffset() + src.position(), src.remaining());
            return;
        }
        while (src.hasRemaining()) {
            int n = Math.min(chunk.length, src.remaining());
            src.get(chunk, 0, n);
            out.write(chunk, 0, n);
        }
    }
}
