package dev.lolcats4j.io;

import dev.lolcats4j.BadInputException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads PyTorch {@code torch.save} checkpoints (the zip format of PyTorch 1.6 and later) without
 * Python: {@code <archive>/data.pkl} is unpickled by a small interpreter that only builds data
 * (tensors, dicts, lists, numbers, strings) and never runs code, and tensor storages are read
 * from {@code <archive>/data/<key>}.
 *
 * <p>Tensors become {@link TensorData} with contiguous little-endian bytes (strided views are
 * copied out; a {@code byteorder} entry of "big" is honoured). Unknown Python classes become
 * opaque values, so a checkpoint with, say, optimizer state still loads as long as the caller
 * does not need those parts. Storages are read fully into memory: meant for adapter-sized
 * checkpoints, not multi-gigabyte models.
 */
public final class TorchCheckpointReader {

    private static final Map<String, DType> STORAGE_TYPES = Map.ofEntries(
            Map.entry("DoubleStorage", DType.F64),
            Map.entry("FloatStorage", DType.F32),
            Map.entry("HalfStorage", DType.F16),
            Map.entry("BFloat16Storage", DType.BF16),
            Map.entry("LongStorage", DType.I64),
            Map.entry("IntStorage", DType.I32),
            Map.entry("ShortStorage", DType.I16),
            Map.entry("CharStorage", DType.I8),
            Map.entry("ByteStorage", DType.U8),
            Map.entry("BoolStorage", DType.BOOL),
            Map.entry("UntypedStorage", DType.U8));

    /** A storage's bytes as read from the archive, in file byte order. */
    private record Storage(DType dtype, String key, long numel, byte[] bytes) {
    }

    private TorchCheckpointReader() {
    }

    /**
     * The unpickled top-level dict of a checkpoint. Values: tensors as {@link TensorData}, dicts
     * as {@code Map}, lists and tuples as {@code List}, ints as {@code Long}, floats as
     * {@code Double}, strings as {@code String}, None as null; other objects are opaque values
     * whose {@code toString} names their Python class.
     *
     * @throws BadInputException if the file is missing, not a torch.save archive, malformed, or
     *                           its top level is not a dict
     */
    public static Map<String, Object> readTopLevel(Path file) {
        Object top = readObject(file);
        if (!(top instanceof Map<?, ?> m)) {
            throw BadInputException.at(file, "top level", "expected a dict, found " + PickleReader.describe(top));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(String.valueOf(k), v));
        return Collections.unmodifiableMap(out);
    }

    /**
     * The tensors of the state dict stored under {@code key} at the top level, e.g.
     * {@code "model_state_dict"}; with {@code key == null} the top level itself is the state
     * dict (as written by {@code torch.save(model.state_dict(), f)}).
     *
     * @throws BadInputException if the key is missing or its value is not a dict of tensors
     */
    public static Map<String, TensorData> readStateDict(Path file, String key) {
        Map<String, Object> top = readTopLevel(file);
        Object dict = top;
        if (key != null) {
            if (!top.containsKey(key)) {
                throw BadInputException.at(file, key, "not found; top-level keys are " + top.keySet());
            }
            dict = top.get(key);
        }
        String where = key == null ? "top level" : key;
        if (!(dict instanceof Map<?, ?> m)) {
            throw BadInputException.at(file, where, "expected a dict of tensors, found " + PickleReader.describe(dict));
        }
        Map<String, TensorData> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String name = String.valueOf(e.getKey());
            if (!(e.getValue() instanceof TensorData t)) {
                throw BadInputException.at(file, (key == null ? "" : key + ".") + name,
                        "expected a tensor, found " + PickleReader.describe(e.getValue()));
            }
            out.put(name, t);
        }
        return Collections.unmodifiableMap(out);
    }

    private static Object readObject(Path file) {
        InputFiles.refuseSpecial(file);
        if (!Files.isRegularFile(file)) {
            throw BadInputException.at(file, "file", "does not exist");
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String prefix = archivePrefix(zip, file);
            boolean bigEndian = false;
            ZipEntry order = zip.getEntry(prefix + "byteorder");
            if (order != null) {
                String s = new String(read(zip, order), StandardCharsets.US_ASCII).trim();
                if (!s.equals("little") && !s.equals("big")) {
                    throw BadInputException.at(file, prefix + "byteorder", "expected little or big, found \"" + s + "\"");
                }
                bigEndian = s.equals("big");
            }
            byte[] pickle = read(zip, zip.getEntry(prefix + "data.pkl"));
            Map<String, Storage> storages = new HashMap<>();
            boolean swap = bigEndian;
            return PickleReader.load(pickle, file, prefix + "data.pkl",
                    pid -> loadStorage(zip, file, prefix, pid, storages),
                    (callable, args) -> call(file, callable, args, swap));
        } catch (ZipException e) {
            throw BadInputException.at(file, "format",
                    "expected a torch.save zip archive (PyTorch >= 1.6), found a file that is not a zip");
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
    }

    /** The folder inside the zip that holds data.pkl, with its trailing slash. */
    private static String archivePrefix(ZipFile zip, Path file) {
        for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
            String name = en.nextElement().getName();
            if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
                return name.substring(0, name.length() - "data.pkl".length());
            }
        }
        throw BadInputException.at(file, "data.pkl", "not found; expected a torch.save archive with <name>/data.pkl");
    }

    private static byte[] read(ZipFile zip, ZipEntry entry) throws IOException {
        try (InputStream in = zip.getInputStream(entry)) {
            return in.readAllBytes();
        }
    }

    private static Object loadStorage(ZipFile zip, Path file, String prefix, Object pid, Map<String, Storage> cache) {
        if (!(pid instanceof List<?> t) || t.size() < 5 || !"storage".equals(t.get(0))) {
            throw BadInputException.at(file, prefix + "data.pkl",
                    "expected a persistent id ('storage', type, key, location, numel), found " + PickleReader.describe(pid));
        }
        String key = String.valueOf(t.get(2));
        Storage cached = cache.get(key);
        if (cached != null) {
            return cached;
        }
        String typeName = t.get(1) instanceof PickleReader.Global g ? g.name() : String.valueOf(t.get(1));
        DType dtype = STORAGE_TYPES.get(typeName);
        String entryName = prefix + "data/" + key;
        if (dtype == null) {
            throw BadInputException.at(file, entryName, "unsupported storage type " + t.get(1));
        }
        if (!(t.get(4) instanceof Long numel)) {
            throw BadInputException.at(file, entryName, "expected an element count, found " + PickleReader.describe(t.get(4)));
        }
        ZipEntry entry = zip.getEntry(entryName);
        if (entry == null) {
            throw BadInputException.at(file, entryName, "storage entry not found in the archive");
        }
        byte[] bytes;
        try {
            bytes = read(zip, entry);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + entryName + " in " + file + ": " + e.getMessage(), e);
        }
        if (bytes.length < numel * dtype.byteSize()) {
            throw BadInputException.at(file, entryName, "expected " + numel * dtype.byteSize()
                    + " bytes for " + numel + " " + dtype + " elements, found " + bytes.length);
        }
        Storage s = new Storage(dtype, key, numel, bytes);
        cache.put(key, s);
        return s;
    }

    private static Object call(Path file, Object callable, List<Object> args, boolean bigEndian) {
        if (!(callable instanceof PickleReader.Global g)) {
            return PickleReader.opaque(callable, args);
        }
        switch (g.toString()) {
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                return rebuildTensor(file, args, bigEndian);
            }
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                return args.get(0);
            }
            case "collections.OrderedDict" -> {
                Map<Object, Object> m = new LinkedHashMap<>();
                if (!args.isEmpty() && args.get(0) instanceof List<?> pairs) {
                    for (Object p : pairs) {
                        if (p instanceof List<?> kv && kv.size() == 2) {
                            m.put(kv.get(0), kv.get(1));
                        }
                    }
                }
                return m;
            }
            default -> {
                return PickleReader.opaque(g, args);
            }
        }
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, ...)} as a contiguous copy. */
    private static TensorData rebuildTensor(Path file, List<Object> args, boolean bigEndian) {
        String field = "tensor";
        if (args.size() < 4 || !(args.get(0) instanceof Storage s)) {
            throw BadInputException.at(file, field, "expected (storage, offset, size, stride, ...), found "
                    + PickleReader.describe(args));
        }
        field = "data/" + s.key();
        long offset = asLong(file, field, args.get(1));
        long[] size = longs(file, field, args.get(2));
        long[] stride = longs(file, field, args.get(3));
        if (size.length != stride.length) {
            throw BadInputException.at(file, field, "size has " + size.length + " dims but stride has " + stride.length);
        }
        long numel = TensorData.numel(size);
        int elem = s.dtype().byteSize();
        long lastIndex = offset;
        for (int d = 0; d < size.length; d++) {
            if (stride[d] < 0) {
                throw BadInputException.at(file, field, "negative stride " + stride[d]);
            }
            if (size[d] > 0) {
                lastIndex += (size[d] - 1) * stride[d];
            }
        }
        if (numel > 0 && (offset < 0 || lastIndex >= s.numel())) {
            throw BadInputException.at(file, field, "view reaches element " + lastIndex + " of a storage with "
                    + s.numel() + " elements");
        }
        long outBytes = numel * elem;
        if (outBytes > Integer.MAX_VALUE - 8) {
            throw BadInputException.at(file, field, "tensor of " + outBytes + " bytes is too large to import");
        }
        byte[] out = new byte[(int) outBytes];
        if (isContiguous(size, stride)) {
            System.arraycopy(s.bytes(), (int) (offset * elem), out, 0, out.length);
        } else {
            copyStrided(s.bytes(), offset, size, stride, elem, out);
        }
        if (bigEndian && elem > 1) {
            for (int i = 0; i < out.length; i += elem) {
                for (int a = i, b = i + elem - 1; a < b; a++, b--) {
                    byte tmp = out[a];
                    out[a] = out[b];
                    out[b] = tmp;
                }
            }
        }
        return new TensorData(s.dtype(), size, ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN));
    }

    private static boolean isContiguous(long[] size, long[] stride) {
        long expected = 1;
        for (int d = size.length - 1; d >= 0; d--) {
            if (size[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= size[d];
        }
        return true;
    }

    /** Walks the view in row-major order with an odometer over the indices. */
    private static void copyStrided(byte[] src, long offset, long[] size, long[] stride, int elem, byte[] out) {
        int dims = size.length;
        long[] index = new long[dims];
        long src0 = offset;
        for (int o = 0; o < out.length; o += elem) {
            System.arraycopy(src, (int) (src0 * elem), out, o, elem);
            for (int d = dims - 1; d >= 0; d--) {
                index[d]++;
                src0 += stride[d];
                if (index[d] < size[d]) {
                    break;
                }
                src0 -= index[d] * stride[d];
                index[d] = 0;
            }
        }
    }

    private static long asLong(Path file, String field, Object o) {
        if (o instanceof Long l) {
            return l;
        }
        throw BadInputException.at(file, field, "expected an integer, found " + PickleReader.describe(o));
    }

    private static long[] longs(Path file, String field, Object o) {
        if (!(o instanceof List<?> l)) {
            throw BadInputException.at(file, field, "expected a tuple of integers, found " + PickleReader.describe(o));
        }
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = asLong(file, field, l.get(i));
            if (out[i] < 0) {
                throw BadInputException.at(file, field, "expected non-negative sizes, found " + out[i]);
            }
        }
        return out;
    }
}
