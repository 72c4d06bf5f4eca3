package dev.lolcats4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.lolcats4j.BadInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped <a href="https://huggingface.co/docs/safetensors">safetensors</a> file: an
 * 8-byte little-endian header length, a JSON header, then the raw tensor bytes.
 *
 * <p>The whole header is validated on {@link #open}; every problem is reported as a
 * {@link BadInputException} naming the file and the tensor field. Files under 2 GiB are mapped
 * once; larger files are mapped tensor by tensor, and a single tensor over 2 GiB is rejected.
 * Buffers handed out by {@link #get} stay valid after {@link #close} (the OS mapping is released
 * when they are garbage collected), but no new tensors can be read.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** Same cap as the reference implementation, so a corrupt length cannot allocate gigabytes. */
    static final long MAX_HEADER_BYTES = 100L << 20;
    static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private record Entry(TensorInfo info, long begin, long end) {
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final MappedByteBuffer whole; // null when the file is too large to map at once
    private final Map<String, Entry> entries;
    private final Map<String, TensorInfo> infos;
    private final Map<String, String> metadata;
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, MappedByteBuffer whole,
                            Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.whole = whole;
        this.entries = entries;
        Map<String, TensorInfo> i = new LinkedHashMap<>();
        entries.forEach((k, e) -> i.put(k, e.info()));
        this.infos = Collections.unmodifiableMap(i);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens, maps and validates a safetensors file.
     *
     * @throws BadInputException    if the file is missing or malformed
     * @throws UncheckedIOException on other I/O failures
     */
    public static SafetensorsFile open(Path file) {
        InputFiles.refuseSpecial(file);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw BadInputException.at(file, "file", "does not exist");
        } catch (IOException e) {
            throw new UncheckedIOException("opening " + file + ": " + e.getMessage(), e);
        }
        try {
            SafetensorsFile f = parse(file, ch);
            ch = null;
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        } finally {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // already failing
                }
            }
        }
    }

    private static SafetensorsFile parse(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw BadInputException.at(file, "header length",
                    "expected at least 8 bytes, found a file of " + size + " bytes");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        if (headerLen < 0 || headerLen > size - 8) {
            throw BadInputException.at(file, "header length", "header of " + Long.toUnsignedString(headerLen)
                    + " bytes does not fit in a file of " + size + " bytes");
        }
        if (headerLen > MAX_HEADER_BYTES) {
            throw BadInputException.at(file, "header length", "expected at most " + MAX_HEADER_BYTES
                    + " bytes, found " + headerLen);
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8);
        JsonNode header;
        try {
            header = JSON.readTree(headerBuf.array());
        } catch (JsonProcessingException e) {
            throw BadInputException.at(file, "header", "invalid JSON: " + e.getOriginalMessage());
        }
        if (header == null || !header.isObject()) {
            throw BadInputException.at(file, "header", "expected a JSON object, found "
                    + (header == null ? "nothing" : header.getNodeType()));
        }
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            String name = field.getKey();
            if (name.equals(METADATA_KEY)) {
                readMetadata(file, field.getValue(), metadata);
            } else {
                entries.put(name, readEntry(file, name, field.getValue(), dataLen));
            }
        }
        checkNoOverlap(file, entries);
        MappedByteBuffer whole = size <= Integer.MAX_VALUE
                ? ch.map(FileChannel.MapMode.READ_ONLY, 0, size) : null;
        return new SafetensorsFile(file, ch, dataStart, whole, entries, metadata);
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw BadInputException.at(file, METADATA_KEY, "expected an object of strings, found " + node.getNodeType());
        }
        node.properties().forEach(e -> {
            if (!e.getValue().isTextual()) {
                throw BadInputException.at(file, METADATA_KEY + "." + e.getKey(),
                        "expected a string, found " + e.getValue().getNodeType());
            }
            out.put(e.getKey(), e.getValue().textValue());
        });
    }

    private static Entry readEntry(Path file, String name, JsonNode node, long dataLen) {
        if (!node.isObject()) {
            throw BadInputException.at(file, name, "expected an object with dtype, shape and data_offsets, found "
                    + node.getNodeType());
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw BadInputException.at(file, name + ".dtype", "expected a string, found " + describe(dtypeNode));
        }
        DType dtype = DType.fromSafetensors(dtypeNode.textValue(), file, name + ".dtype");
        long[] shape = longArray(file, name + ".shape", node.get("shape"));
        long[] offsets = longArray(file, name + ".data_offsets", node.get("data_offsets"));
        if (offsets.length != 2) {
            throw BadInputException.at(file, name + ".data_offsets",
                    "expected [begin, end], found " + offsets.length + " numbers");
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw BadInputException.at(file, name + ".data_offsets", "begin " + begin + " is after end " + end);
        }
        if (end > dataLen) {
            throw BadInputException.at(file, name + ".data_offsets", "end " + end
                    + " runs past the data section (" + dataLen + " bytes)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(TensorData.numel(shape), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw BadInputException.at(file, name + ".shape", "element count overflows");
        }
        if (end - begin != expected) {
            throw BadInputException.at(file, name + ".data_offsets", "expected " + expected + " bytes for "
                    + dtype.safetensorsName() + Arrays.toString(shape) + ", found " + (end - begin));
        }
        return new Entry(new TensorInfo(name, dtype, shape), begin, end);
    }

    private static long[] longArray(Path file, String field, JsonNode node) {
        if (node == null || !node.isArray()) {
            throw BadInputException.at(file, field, "expected an array of non-negative integers, found " + describe(node));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw BadInputException.at(file, field + "[" + i + "]", "expected a non-negative integer, found " + v);
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static String describe(JsonNode node) {
        return node == null ? "nothing" : node.toString();
    }

    private static void checkNoOverlap(Path file, Map<String, Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        Entry prev = null;
        for (Entry e : sorted) {
            if (e.begin() == e.end()) {
                continue; // empty tensors occupy no bytes
            }
            if (prev != null && e.begin() < prev.end()) {
                throw BadInputException.at(file, e.info().name() + ".data_offsets", "bytes [" + e.begin() + ", "
                        + e.end() + ") overlap " + prev.info().name() + " [" + prev.begin() + ", " + prev.end() + ")");
            }
            prev = e;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** Tensor descriptions in header order. */
    public Map<String, TensorInfo> tensors() {
        return infos;
    }

    /** The {@code __metadata__} string map (empty if absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Whether the file holds a tensor of that name. */
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /**
     * The tensor's bytes as a read-only little-endian view of the mapped file (no copy).
     *
     * @throws BadInputException     if there is no tensor of that name
     * @throws IllegalStateException if the file has been closed
     */
    public TensorData get(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw BadInputException.at(path, name, "no such tensor in this file (" + entries.size() + " tensors)");
        }
        if (closed) {
            throw new IllegalStateException(path + " is closed");
        }
        long length = e.end() - e.begin();
        ByteBuffer bytes;
        if (whole != null) {
            bytes = whole.slice((int) (dataStart + e.begin()), (int) length);
        } else {
            if (length > Integer.MAX_VALUE) {
                throw BadInputException.at(path, name, "tensor of " + length
                        + " bytes is larger than the 2 GiB that can be mapped at once");
            }
            try {
                bytes = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), length);
            } catch (IOException ex) {
                throw new UncheckedIOException("mapping " + name + " in " + path + ": " + ex.getMessage(), ex);
            }
        }
        return new TensorData(e.info().dtype(), e.info().shape(), bytes.order(ByteOrder.LITTLE_ENDIAN));
    }

    /** Closes the file channel. Buffers already returned stay readable. */
    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + path + ": " + e.getMessage(), e);
        }
    }
}
