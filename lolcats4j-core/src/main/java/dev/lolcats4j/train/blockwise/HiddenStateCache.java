package dev.lolcats4j.train.blockwise;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.data.PackedDataset.Sequence;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.DType;
import dev.lolcats4j.io.JsonFiles;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelConfigReader;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.torch.Tensors;
import dev.lolcats4j.train.AttentionTransfer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * The hidden-state cache of block-wise transfer (format in docs/hidden-state-cache.md): for
 * every block boundary, the frozen teacher's hidden states entering that layer, for every
 * packed sequence of the transfer data, in bf16 shards with a CRC32C each.
 *
 * <p>{@link #prepare} builds it in one teacher pass, resumably (finished shard groups are kept),
 * and on an existing cache verifies every shard's checksum, rewriting the damaged ones. It
 * refuses a cache built from another model, another compute dtype, other data or other block
 * boundaries. {@link #open} is what block jobs use: it never writes.
 */
public final class HiddenStateCache {

    public static final String FORMAT = "lolcats4j-hidden-cache/1";
    public static final String INDEX_FILE = "index.json";
    public static final String SEQUENCES_FILE = "sequences.safetensors";
    /** Shard size target: one shard group holds one shard per boundary in memory while it is computed. */
    public static final long DEFAULT_SHARD_BYTES = 64L << 20;
    static final String CHECKSUM_SUFFIX = ".crc32c";
    private static final int SEQUENCES_PER_FORWARD = 4;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Hears about a cache build. */
    public interface Listener {
        void onMessage(String message);

        /** After each shard group computed: groups done (including those found valid) of total, and tokens per second. */
        default void onGroup(int done, int total, double tokensPerSecond) {}

        Listener SILENT = message -> { };
    }

    /** One shard: the hidden states entering {@code boundary} for sequences [first, first + count). */
    public record Shard(int boundary, int group, String file, int firstSequence, int sequences, long bytes, String crc32c) {}

    private final Path dir;
    private final JsonNode index;
    private final List<Integer> boundaries;
    private final List<Shard> shards;

    private HiddenStateCache(Path dir, JsonNode index) {
        this.dir = dir;
        this.index = index;
        List<Integer> b = new ArrayList<>();
        index.path("boundaries").forEach(n -> b.add(n.asInt()));
        this.boundaries = List.copyOf(b);
        List<Shard> s = new ArrayList<>();
        for (JsonNode n : index.path("shards")) {
            s.add(new Shard(n.path("boundary").asInt(), n.path("group").asInt(), n.path("file").asText(),
                    n.path("first_sequence").asInt(), n.path("sequences").asInt(), n.path("bytes").asLong(),
                    n.path("crc32c").asText()));
        }
        this.shards = List.copyOf(s);
    }

    // ---------------------------------------------------------------- reading

    /** Opens a complete cache for reading (block jobs); writes nothing. */
    public static HiddenStateCache open(Path dir) {
        Path file = dir.resolve(INDEX_FILE);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (hidden-state cache index; build the cache first)");
        }
        JsonNode index = JsonFiles.read(file);
        if (!FORMAT.equals(index.path("format").asText())) {
            throw BadInputException.at(file, "format", "expected \"" + FORMAT + "\", found \"" + index.path("format").asText() + "\"");
        }
        if (!index.path("complete").asBoolean()) {
            throw BadInputException.at(file, "complete", "the cache was not finished; rerun linearize with this --cache to complete it");
        }
        return new HiddenStateCache(dir, index);
    }

    public Path dir() {
        return dir;
    }

    public List<Integer> boundaries() {
        return boundaries;
    }

    public List<Shard> shards() {
        return shards;
    }

    public int hiddenSize() {
        return index.path("hidden_size").asInt();
    }

    public int sequenceLength() {
        return index.path("sequence_length").asInt();
    }

    /** Tokens cached per boundary (train and held-out). */
    public long tokensPerBoundary() {
        return (long) (index.path("train_sequences").asInt() + index.path("held_out_sequences").asInt()) * sequenceLength();
    }

    /** Bytes of all shard files. */
    public long shardBytes() {
        return shards.stream().mapToLong(Shard::bytes).sum();
    }

    public String modelFingerprint() {
        return index.path("model_fingerprint").asText();
    }

    public String dataFingerprint() {
        return index.path("data_fingerprint").asText();
    }

    /** Refuses (bad input, exit 2) when this cache was not built from this model in this compute dtype. */
    public void checkModel(Path modelDir, ComputeType computeType) {
        Path file = dir.resolve(INDEX_FILE);
        String fp = Fingerprints.model(modelDir);
        if (!fp.equals(modelFingerprint())) {
            throw BadInputException.at(file, "model_fingerprint", "the cache was built from another model (cache "
                    + abbreviate(modelFingerprint()) + ", " + modelDir + " " + abbreviate(fp) + "); use another --cache folder");
        }
        if (!computeType.name().equals(index.path("compute_type").asText())) {
            throw BadInputException.at(file, "compute_type", "the cache was built with --dtype "
                    + index.path("compute_type").asText().toLowerCase(Locale.ROOT) + ", this run uses "
                    + computeType.name().toLowerCase(Locale.ROOT) + "; use another --cache folder");
        }
    }

    /** The packed transfer data the cache was built from (same sequences, split and order seed). */
    public PackedDataset dataset() {
        Path file = dir.resolve(SEQUENCES_FILE);
        verify(file, index.path("sequences_crc32c").asText());
        int train = index.path("train_sequences").asInt();
        int n = sequenceLength();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            ByteBuffer tokens = f.get("tokens").data().order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer counts = f.get("target_counts").data();
            long total = f.tensors().get("tokens").shape()[0];
            List<Sequence> all = new ArrayList<>();
            for (int s = 0; s < total; s++) {
                int[] t = new int[n + 1];
                boolean[] c = new boolean[n];
                for (int i = 0; i <= n; i++) {
                    t[i] = tokens.getInt((s * (n + 1) + i) * 4);
                }
                for (int i = 0; i < n; i++) {
                    c[i] = counts.get(s * n + i) != 0;
                }
                all.add(new Sequence(t, c));
            }
            PackedDataset data = PackedDataset.of(all.subList(0, train), all.subList(train, all.size()),
                    index.path("data_seed").asLong());
            if (!Fingerprints.data(data).equals(dataFingerprint())) {
                throw BadInputException.at(file, "tokens", "does not match the data fingerprint in " + INDEX_FILE
                        + "; the cache is damaged, use another --cache folder");
            }
            return data;
        }
    }

    /**
     * The cached inputs of the block starting at {@code boundary}, every shard's checksum
     * verified first (a damaged shard is never trained on).
     */
    public BoundaryInputs inputs(int boundary) {
        if (!boundaries.contains(boundary)) {
            throw BadInputException.at(dir.resolve(INDEX_FILE), "boundaries", "no cached inputs for layer " + boundary
                    + " (cached: " + boundaries + "); the cache was built for another --blockwise");
        }
        List<Shard> mine = shards.stream().filter(s -> s.boundary() == boundary).toList();
        for (Shard s : mine) {
            verify(dir.resolve(s.file()), s.crc32c());
        }
        return new BoundaryInputs(dir, mine, dataset());
    }

    /** Bad input naming the file when its CRC32C is not {@code expected}. */
    static void verify(Path file, String expected) {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": cache shard missing; rerun linearize with this --cache to rewrite it");
        }
        String found = Fingerprints.crc32c(file);
        if (!found.equals(expected)) {
            throw new BadInputException(file + ": checksum mismatch (expected crc32c " + expected + ", found " + found
                    + "): the shard is damaged; rerun linearize with this --cache to rewrite it");
        }
    }

    // ---------------------------------------------------------------- building

    /**
     * Makes sure {@code dir} holds a complete, intact cache of {@code data} through the model
     * for {@code boundaries}: builds it, finishes an interrupted build, or verifies an existing
     * one and rewrites damaged shards. The model is loaded only when some shard must be computed.
     */
    public static HiddenStateCache prepare(Path dir, Path modelDir, ComputeType computeType, PackedDataset data,
            List<Integer> boundaries, long shardBytes, Listener listener) {
        ModelConfig config = ModelConfigReader.read(modelDir);
        String modelFp = Fingerprints.model(modelDir);
        String dataFp = Fingerprints.data(data);
        int n = data.train().get(0).tokens().length - 1;
        int total = data.train().size() + data.heldOut().size();
        long bytesPerSequence = 2L * n * config.hiddenSize();
        int perShard = (int) Math.max(1, Math.min(total, shardBytes / bytesPerSequence));
        Path indexFile = dir.resolve(INDEX_FILE);
        ObjectNode index;
        if (Files.isRegularFile(indexFile)) {
            index = (ObjectNode) JsonFiles.read(indexFile);
            checkCompatible(indexFile, index, modelFp, dataFp, computeType, boundaries);
            perShard = index.path("sequences_per_shard").asInt();
            listener.onMessage("cache " + dir + ": found (" + (index.path("complete").asBoolean() ? "complete" : "interrupted")
                    + "), verifying checksums");
        } else {
            refuseForeignFolder(dir);
            AtomicFiles.createDirectories(dir);
            writeSequences(dir.resolve(SEQUENCES_FILE), data);
            index = JSON.createObjectNode();
            index.put("format", FORMAT);
            index.put("complete", false);
            index.put("model_fingerprint", modelFp);
            index.put("data_fingerprint", dataFp);
            index.put("compute_type", computeType.name());
            index.put("dtype", "BF16");
            index.put("hidden_size", config.hiddenSize());
            index.put("sequence_length", n);
            index.put("train_sequences", data.train().size());
            index.put("held_out_sequences", data.heldOut().size());
            index.put("data_seed", data.seed());
            index.put("sequences_per_shard", perShard);
            index.put("sequences_crc32c", Fingerprints.crc32c(dir.resolve(SEQUENCES_FILE)));
            ArrayNode b = index.putArray("boundaries");
            boundaries.forEach(b::add);
            index.putArray("shards");
            // The plan goes to disk first, so that an interrupted build is recognised and resumed.
            AtomicFiles.writeString(indexFile, index.toPrettyString());
        }
        verify(dir.resolve(SEQUENCES_FILE), index.path("sequences_crc32c").asText());
        Map<String, String> known = new LinkedHashMap<>();
        index.path("shards").forEach(s -> known.put(s.path("file").asText(), s.path("crc32c").asText()));

        List<Sequence> all = new ArrayList<>(data.train());
        all.addAll(data.heldOut());
        int groups = (total + perShard - 1) / perShard;
        List<Shard> shards = new ArrayList<>();
        DecoderModel model = null;
        long start = System.nanoTime();
        long computedTokens = 0;
        for (int g = 0; g < groups; g++) {
            int first = g * perShard;
            int count = Math.min(perShard, total - first);
            List<Shard> groupShards = new ArrayList<>();
            boolean valid = true;
            for (int boundary : boundaries) {
                String file = shardFile(boundary, g);
                Path path = dir.resolve(file);
                String expected = known.containsKey(file) ? known.get(file) : readSidecar(path);
                String found = Files.isRegularFile(path) ? Fingerprints.crc32c(path) : null;
                if (expected == null || !expected.equals(found)) {
                    if (found != null) {
                        listener.onMessage(path + ": checksum mismatch (expected " + expected + ", found " + found + "), rewriting");
                    }
                    valid = false;
                    break;
                }
                groupShards.add(new Shard(boundary, g, file, first, count, size(path), found));
            }
            if (!valid) {
                if (model == null) {
                    listener.onMessage("cache " + dir + ": running the teacher over " + total + " sequences x " + n + " tokens");
                    model = ModelLoader.load(modelDir, computeType);
                }
                groupShards = computeGroup(dir, model, all.subList(first, first + count), boundaries, g, first);
                computedTokens += (long) count * n;
            }
            shards.addAll(groupShards);
            double seconds = (System.nanoTime() - start) / 1e9;
            listener.onGroup(g + 1, groups, computedTokens / Math.max(seconds, 1e-9));
        }
        ArrayNode list = index.putArray("shards");
        for (Shard s : shards) {
            ObjectNode o = list.addObject();
            o.put("boundary", s.boundary());
            o.put("group", s.group());
            o.put("file", s.file());
            o.put("first_sequence", s.firstSequence());
            o.put("sequences", s.sequences());
            ArrayNode shape = o.putArray("shape");
            shape.add(s.sequences()).add(n).add(config.hiddenSize());
            o.put("tokens", (long) s.sequences() * n);
            o.put("bytes", s.bytes());
            o.put("crc32c", s.crc32c());
        }
        index.put("complete", true);
        AtomicFiles.writeString(indexFile, index.toPrettyString());
        return new HiddenStateCache(dir, index);
    }

    private static void checkCompatible(Path file, JsonNode index, String modelFp, String dataFp, ComputeType type,
            List<Integer> boundaries) {
        if (!FORMAT.equals(index.path("format").asText())) {
            throw BadInputException.at(file, "format", "expected \"" + FORMAT + "\", found \"" + index.path("format").asText()
                    + "\"; not a hidden-state cache");
        }
        if (!modelFp.equals(index.path("model_fingerprint").asText())) {
            throw BadInputException.at(file, "model_fingerprint", "the cache was built from another model (cache "
                    + abbreviate(index.path("model_fingerprint").asText()) + ", --model " + abbreviate(modelFp)
                    + "); use another --cache folder");
        }
        if (!dataFp.equals(index.path("data_fingerprint").asText())) {
            throw BadInputException.at(file, "data_fingerprint", "the cache was built from other data (cache "
                    + abbreviate(index.path("data_fingerprint").asText()) + ", this run " + abbreviate(dataFp)
                    + "; --data, --seq-len, --held-out and --data-seed all count); use another --cache folder");
        }
        if (!type.name().equals(index.path("compute_type").asText())) {
            throw BadInputException.at(file, "compute_type", "the cache was built with --dtype "
                    + index.path("compute_type").asText().toLowerCase(Locale.ROOT) + ", this run uses "
                    + type.name().toLowerCase(Locale.ROOT) + "; use another --cache folder");
        }
        List<Integer> cached = new ArrayList<>();
        index.path("boundaries").forEach(n -> cached.add(n.asInt()));
        if (!cached.equals(boundaries)) {
            throw BadInputException.at(file, "boundaries", "the cache holds block inputs for layers " + cached
                    + ", this run needs " + boundaries + " (another --blockwise); use another --cache folder");
        }
    }

    private static void refuseForeignFolder(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new BadInputException("--cache " + dir + ": expected a folder, found a file");
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) {
                    throw new BadInputException("--cache " + dir + ": folder is not empty and has no " + INDEX_FILE
                            + " (not a hidden-state cache); give an empty or new folder");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** One teacher pass over a group of sequences; writes one shard per boundary (and its checksum sidecar). */
    private static List<Shard> computeGroup(Path dir, DecoderModel model, List<Sequence> sequences, List<Integer> boundaries,
            int group, int first) {
        ModelConfig config = model.config();
        int n = sequences.get(0).tokens().length - 1;
        int d = config.hiddenSize();
        int last = boundaries.get(boundaries.size() - 1);
        Map<Integer, ByteBuffer> buffers = new LinkedHashMap<>();
        for (int b : boundaries) {
            buffers.put(b, ByteBuffer.allocate(Math.toIntExact(2L * sequences.size() * n * d)).order(ByteOrder.LITTLE_ENDIAN));
        }
        for (int from = 0; from < sequences.size(); from += SEQUENCES_PER_FORWARD) {
            int count = Math.min(SEQUENCES_PER_FORWARD, sequences.size() - from);
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                long[] ids = new long[count * n];
                for (int i = 0; i < count; i++) {
                    int[] t = sequences.get(from + i).tokens();
                    for (int j = 0; j < n; j++) {
                        ids[i * n + j] = t[j];
                    }
                }
                Tensor idTensor = Tensors.ofLongs(ids, count, n);
                Tensor positions = Tensors.arange(n).unsqueeze(0).expand(count, n).contiguous();
                Tensor[] cosSin = model.rope().cosSin(positions);
                Tensor x = model.embed(idTensor);
                for (int layer = 0; layer <= last; layer++) {
                    ByteBuffer target = buffers.get(layer);
                    if (target != null) {
                        target.put(Tensors.toData(x.to(Tensors.BF16)).data());
                    }
                    if (layer < last) {
                        PointerScope outer = PointerScope.getInnerScope();
                        try (PointerScope layerScope = new PointerScope()) {
                            x = Tensors.handOver(AttentionTransfer.teacherLayer(model.layers().get(layer), x, cosSin), outer);
                        }
                    }
                }
            }
        }
        List<Shard> out = new ArrayList<>();
        for (int b : boundaries) {
            String file = shardFile(b, group);
            Path path = dir.resolve(file);
            ByteBuffer data = buffers.get(b).flip();
            SafetensorsWriter.write(path, Map.of("hidden", new TensorData(DType.BF16, new long[] {sequences.size(), n, d}, data)),
                    Map.of("format", FORMAT, "boundary", Integer.toString(b), "first_sequence", Integer.toString(first)));
            String crc = Fingerprints.crc32c(path);
            AtomicFiles.writeString(path.resolveSibling(path.getFileName() + CHECKSUM_SUFFIX), crc + "\n");
            out.add(new Shard(b, group, file, first, sequences.size(), size(path), crc));
        }
        return out;
    }

    private static void writeSequences(Path file, PackedDataset data) {
        List<Sequence> all = new ArrayList<>(data.train());
        all.addAll(data.heldOut());
        int n = data.train().get(0).tokens().length - 1;
        ByteBuffer tokens = ByteBuffer.allocate(all.size() * (n + 1) * 4).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer counts = ByteBuffer.allocate(all.size() * n);
        for (Sequence s : all) {
            for (int t : s.tokens()) {
                tokens.putInt(t);
            }
            for (boolean c : s.targetCounts()) {
                counts.put((byte) (c ? 1 : 0));
            }
        }
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        tensors.put("tokens", new TensorData(DType.I32, new long[] {all.size(), n + 1}, tokens.flip()));
        tensors.put("target_counts", new TensorData(DType.U8, new long[] {all.size(), n}, counts.flip()));
        SafetensorsWriter.write(file, tensors, Map.of("format", FORMAT, "train_sequences", Integer.toString(data.train().size())));
    }

    static String shardFile(int boundary, int group) {
        return String.format(Locale.ROOT, "boundary-%03d/shard-%05d.safetensors", boundary, group);
    }

    private static String readSidecar(Path shard) {
        Path sidecar = shard.resolveSibling(shard.getFileName() + CHECKSUM_SUFFIX);
        try {
            return Files.isRegularFile(sidecar) ? Files.readString(sidecar).trim() : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String abbreviate(String fingerprint) {
        return fingerprint.length() > 12 ? fingerprint.substring(0, 12) : fingerprint;
    }
}
