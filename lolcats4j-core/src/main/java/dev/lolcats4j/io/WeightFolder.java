package dev.lolcats4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.BadInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of a Hugging Face model folder, seen as one name-to-tensor map across shards.
 *
 * <p>Which files are read, in order of preference: the shards listed in
 * {@code model.safetensors.index.json}; else {@code model.safetensors}; else every
 * {@code *.safetensors} file in the folder (sorted by name; a name in two files is an error).
 * A path to a single {@code .safetensors} file is also accepted.
 */
public final class WeightFolder implements AutoCloseable {

    /** Name of the Hugging Face shard index. */
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** Name of an unsharded Hugging Face weight file. */
    public static final String SINGLE_FILE = "model.safetensors";

    private final Path path;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;

    private WeightFolder(Path path, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.path = path;
        this.files = List.copyOf(files);
        this.byName = Collections.unmodifiableMap(byName);
    }

    /**
     * Opens a model folder or a single safetensors file.
     *
     * @throws BadInputException if the path is missing, holds no weights, or the index or a shard
     *                           is malformed
     */
    public static WeightFolder open(Path dir) {
        InputFiles.refuseSpecial(dir);
        if (Files.isRegularFile(dir)) {
            SafetensorsFile f = SafetensorsFile.open(dir);
            return fromFiles(dir, List.of(f));
        }
        if (!Files.isDirectory(dir)) {
            throw BadInputException.at(dir, "model folder", "does not exist");
        }
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return fromIndex(dir, index);
        }
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return fromFiles(dir, List.of(SafetensorsFile.open(single)));
        }
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
            ds.forEach(p -> {
                if (Files.isRegularFile(p)) {
                    found.add(p);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir + ": " + e.getMessage(), e);
        }
        if (found.isEmpty()) {
            throw new BadInputException(dir + ": no *.safetensors weights found");
        }
        Collections.sort(found);
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (Path p : found) {
                opened.add(SafetensorsFile.open(p));
            }
            return fromFiles(dir, opened);
        } catch (RuntimeException e) {
            closeAll(opened, e);
            throw e;
        }
    }

    private static WeightFolder fromFiles(Path path, List<SafetensorsFile> files) {
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        for (SafetensorsFile f : files) {
            for (String name : f.tensors().keySet()) {
                SafetensorsFile prev = byName.putIfAbsent(name, f);
                if (prev != null) {
                    closeAll(files, null);
                    throw BadInputException.at(f.path(), name, "tensor also present in " + prev.path());
                }
            }
        }
        return new WeightFolder(path, files, byName);
    }

    private static WeightFolder fromIndex(Path dir, Path index) {
        JsonNode root;
        try {
            root = dev.lolcats4j.io.JsonFiles.strictMapper().readTree(index.toFile());
        } catch (JsonProcessingException e) {
            throw BadInputException.at(index, "index", "invalid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + index + ": " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw BadInputException.at(index, "weight_map", "expected an object of tensor name to shard file, found "
                    + (map == null ? "nothing" : map.getNodeType()));
        }
        Path base = dir.toAbsolutePath().normalize();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, JsonNode> e : map.properties()) {
                String name = e.getKey();
                String field = "weight_map." + name;
                if (!e.getValue().isTextual()) {
                    throw BadInputException.at(index, field, "expected a shard file name, found " + e.getValue());
                }
                String shardName = e.getValue().textValue();
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    Path shardPath = base.resolve(shardName).normalize();
                    if (!base.equals(shardPath.getParent())) {
                        throw BadInputException.at(index, field, "expected a file name in " + base
                                + ", found \"" + shardName + "\"");
                    }
                    if (!Files.isRegularFile(shardPath)) {
                        throw BadInputException.at(index, field, "shard file " + shardName + " does not exist");
                    }
                    shard = SafetensorsFile.open(shardPath);
                    shards.put(shardName, shard);
                }
                if (!shard.contains(name)) {
                    throw BadInputException.at(index, field, "tensor not found in shard " + shardName);
                }
                byName.put(name, shard);
            }
        } catch (RuntimeException e) {
            closeAll(shards.values(), e);
            throw e;
        }
        return new WeightFolder(dir, new ArrayList<>(shards.values()), byName);
    }

    private static void closeAll(Iterable<SafetensorsFile> files, Throwable failure) {
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (RuntimeException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                }
            }
        }
    }

    /** The folder (or single file) this was opened from. */
    public Path path() {
        return path;
    }

    /** All tensor names, in index or file order. */
    public Set<String> names() {
        return byName.keySet();
    }

    /** Whether a tensor of that name exists. */
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** Dtype and shape of a tensor, without reading it. */
    public TensorInfo info(String name) {
        return fileFor(name).tensors().get(name);
    }

    /** The tensor's bytes (memory-mapped, no copy). */
    public TensorData get(String name) {
        return fileFor(name).get(name);
    }

    /** The safetensors file holding the tensor, for error messages. */
    public Path fileOf(String name) {
        return fileFor(name).path();
    }

    private SafetensorsFile fileFor(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            throw BadInputException.at(path, name, "no such tensor in the model weights");
        }
        return f;
    }

    /** Closes every underlying file. */
    @Override
    public void close() {
        closeAll(files, null);
    }
}
