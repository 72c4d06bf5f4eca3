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

    /**
     * The Python globals a checkpoint may name: what torch.save writes for tensors, parameters
     * and state dicts, plus the builtins that plain Python containers pickle to. Anything else
     * (a class of the training script, os.system...) is refused, like torch.load(weights_only=True).
     */
    private static final java.util.Set<String> ALLOWED_GLOBALS = allowedGlobals();

    private static java.util.Set<String> allowedGlobals() {
        java.util.Set<String> names = new java.util.HashSet<>(List.of(
                "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
                "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
                "collections.OrderedDict", "builtins.set", "builtins.frozenset", "builtins.bytearray",
                "__builtin__.set", "__builtin__.frozenset", "__builtin__.bytearray", "_codecs.encode",
                "torch.Size", "torch.device", "torch.storage.UntypedStorage"));
        for (String storage : STORAGE_TYPES.keySet()) {
            names.add("torch." + storage);
        }
        for (String dtype : List.of("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                "uint8", "bool")) {
            names.add("torch." + dtype);
        }
        return java.util.Set.copyOf(names);
    }

    /** Largest data.pkl read (real ones are kilobytes to a few megabytes). */
    static final long MAX_PICKLE_BYTES = 64L << 20;

    /**
     * Bytes this import may still allocate for storages and tensors: what the JVM heap has
     * left, less a margin. A claimed size beyond it (a storage count larger than the file, a
     * compression bomb, many views of one storage) is refused before it is allocated.
     */
    private static final class Budget {
        private long remaining;

        Budget() {
            Runtime rt = Runtime.getRuntime();
            long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
            remaining = Math.max(0, free - (64L << 20)) / 2;
        }

        void take(Path file, String field, long bytes) {
            if (bytes < 0 || bytes > remaining || bytes > Integer.MAX_VALUE - 8) {
                throw BadInputException.at(file, field, "would need " + bytes + " bytes, more than the "
                        + Math.min(remaining, Integer.MAX_VALUE - 8L) + " left for this import (JVM heap limit "
                        + Runtime.getRuntime().maxMemory() + " bytes)");
            }
            remaining -= bytes;
        }
    }

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
            throw BadInputException.at(file, "file", Files.exists(file) ? "not a regular file" : "does not exist");
        }
        Budget budget = new Budget();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String prefix = archivePrefix(zip, file);
            boolean bigEndian = false;
            ZipEntry order = zip.getEntry(prefix + "byteorder");
            if (order != null) {
                String s = new String(read(zip, order, 16, file), StandardCharsets.US_ASCII).trim();
                if (!s.equals("little") && !s.equals("big")) {
                    throw BadInputException.at(file, prefix + "byteorder", "expected little or big, found \"" + s + "\"");
                }
                bigEndian = s.equals("big");
            }
            ZipEntry pickleEntry = zip.getEntry(prefix + "data.pkl");
            long pickleLimit = Math.min(MAX_PICKLE_BYTES, Integer.MAX_VALUE - 8L);
            byte[] pickle = read(zip, pickleEntry, pickleLimit + 1, file);
            if (pickle.length > pickleLimit) {
                throw BadInputException.at(file, prefix + "data.pkl", "larger than " + pickleLimit + " bytes; not a checkpoint this reader accepts");
            }
            budget.take(file, prefix + "data.pkl", pickle.length);
            Map<String, Storage> storages = new HashMap<>();
            boolean swap = bigEndian;
            return PickleReader.load(pickle, file, prefix + "data.pkl",
                    pid -> loadStorage(zip, file, prefix, pid, storages, budget),
                    (callable, args) -> call(file, callable, args, swap, budget),
                    g -> ALLOWED_GLOBALS.contains(g.toString()));
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

    /**
     * At most {@code limit} bytes of an entry: a compressed entry that inflates beyond what the
     * caller expects is never inflated further (so a zip bomb costs at most {@code limit}).
     */
    private static byte[] read(ZipFile zip, ZipEntry entry, long limit, Path file) throws IOException {
        if (limit > Integer.MAX_VALUE - 8) {
            throw BadInputException.at(file, entry.getName(), "would need more than " + (Integer.MAX_VALUE - 8) + " bytes");
        }
        try (InputStream in = zip.getInputStream(entry)) {
            return in.readNBytes((int) limit);
        } catch (ZipException e) {
            throw BadInputException.at(file, entry.getName(), "damaged zip entry: " + e.getMessage());
        }
    }

    private static Object loadStorage(ZipFile zip, Path file, String prefix, Object pid, Map<String, Storage> cache, Budget budget) {
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
        if (!(t.get(4) instanceof Long numel) || numel < 0) {
            throw BadInputException.at(file, entryName, "expected an element count >= 0, found " + PickleReader.describe(t.get(4)));
        }
        ZipEntry entry = zip.getEntry(entryName);
        if (entry == null) {
            throw BadInputException.at(file, entryName, "storage entry not found in the archive");
        }
        if (numel > (Long.MAX_VALUE / 8)) {
            throw BadInputException.at(file, entryName, "claims " + numel + " elements, more than any file holds");
        }
        long expected = numel * dtype.byteSize();
        if (entry.getSize() >= 0 && entry.getSize() < expected) {
            throw BadInputException.at(file, entryName, "expected " + expected + " bytes for " + numel + " " + dtype
                    + " elements, the archive entry holds " + entry.getSize());
        }
        budget.take(file, entryName, expected);
        byte[] bytes;
        try {
            bytes = read(zip, entry, expected, file);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + entryName + " in " + file + ": " + e.getMessage(), e);
        }
        if (bytes.length < expected) {
            throw BadInputException.at(file, entryName, "expected " + expected
                    + " bytes for " + numel + " " + dtype + " elements, found " + bytes.length);
        }
        Storage s = new Storage(dtype, key, numel, bytes);
        cache.put(key, s);
        return s;
    }

    private static Object call(Path file, Object callable, List<Object> args, boolean bigEndian, Budget budget) {
        if (!(callable instanceof PickleReader.Global g)) {
            return PickleReader.opaque(callable, args);
        }
        switch (g.toString()) {
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                return rebuildTensor(file, args, bigEndian, budget);
            }
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                if (args.isEmpty()) {
                    throw BadInputException.at(file, g.toString(), "called without arguments");
                }
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
    private static TensorData rebuildTensor(Path file, List<Object> args, boolean bigEndian, Budget budget) {
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
        int elem = s.dtype().byteSize();
        long numel;
        long lastIndex = offset;
        try {
            numel = TensorData.numel(size);
            for (int d = 0; d < size.length; d++) {
                if (size[d] > 0) {
                    lastIndex = Math.addExact(lastIndex, Math.multiplyExact(size[d] - 1, stride[d]));
                }
            }
        } catch (ArithmeticException e) {
            throw BadInputException.at(file, field, "size " + java.util.Arrays.toString(size) + " with stride "
                    + java.util.Arrays.toString(stride) + " overflows a 64-bit element count");
        }
        if (numel > 0 && (offset < 0 || lastIndex >= s.numel())) {
            throw BadInputException.at(file, field, "view reaches element " + lastIndex + " of a storage with "
                    + s.numel() + " elements");
        }
        // A view larger than its storage repeats elements (zero or overlapping strides): torch
        // never saves a parameter that way, and it would let a tiny file ask for gigabytes.
        if (numel > s.numel()) {
            throw BadInputException.at(file, field, "view of " + numel + " elements over a storage of " + s.numel()
                    + " (zero or overlapping strides " + java.util.Arrays.toString(stride) + ")");
        }
        long outBytes = numel * elem;
        budget.take(file, field, outBytes);
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
                throw BadInputException.at(file, field, "expected non-negative sizes and strides, found " + out[i]);
            }
        }
        return out;
    }
}
