package dev.lolcats4j.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Probe results kept in {@code <cache>/cpu-probe.json}, one entry per machine key (CPU model,
 * flags, cores, libtorch version, threads), so the one-second probe runs once per machine. A
 * damaged or foreign file is ignored and rewritten; a read-only cache only loses the saving.
 */
public final class ProbeCache {

    static final String FILE_NAME = "cpu-probe.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    public ProbeCache(Path dir) {
        this.file = dir.resolve(FILE_NAME);
    }

    /**
     * The cache folder: the system property {@code lolcats.cache}, else {@code LOLCATS_CACHE},
     * else {@code <lolcats.home>/.cache} (set by the launcher), else the parent of JavaCPP's
     * cache folder (where the test build points it); empty when none is set.
     */
    public static Optional<ProbeCache> standard() {
        String dir = System.getProperty("lolcats.cache");
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("LOLCATS_CACHE");
        }
        if ((dir == null || dir.isBlank()) && System.getProperty("lolcats.home") != null) {
            dir = Path.of(System.getProperty("lolcats.home"), ".cache").toString();
        }
        if ((dir == null || dir.isBlank()) && System.getProperty("org.bytedeco.javacpp.cachedir") != null) {
            Path parent = Path.of(System.getProperty("org.bytedeco.javacpp.cachedir")).toAbsolutePath().getParent();
            dir = parent == null ? null : parent.toString();
        }
        return dir == null || dir.isBlank() ? Optional.empty() : Optional.of(new ProbeCache(Path.of(dir)));
    }

    /** The key of this machine: what changes the rates. */
    public static String key(CpuInfo cpu, String libtorchVersion, int threads) {
        return cpu.modelName() + "|" + cpu.architecture() + "|" + cpu.cores() + " cores|" + String.join(",", new java.util.TreeSet<>(cpu.flags()))
                + "|libtorch " + libtorchVersion + "|" + threads + " threads|probe 3"; // 2: float32 split across the cores; 3: blocked bf16 attention timed
    }

    public Path file() {
        return file;
    }

    public Optional<GemmRates> get(String key) {
        try {
            if (!Files.isRegularFile(file)) {
                return Optional.empty();
            }
            JsonNode entry = JSON.readTree(file.toFile()).path("entries").path(key);
            if (!entry.isObject()) {
                return Optional.empty();
            }
            GemmRates r = JSON.treeToValue(entry, GemmRates.class);
            return r.f32AtCommonGflops() > 0 && r.bf16AtCommonGflops() > 0 && Double.isFinite(r.f32Gflops()) && Double.isFinite(r.bf16Gflops())
                    ? Optional.of(r) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Adds or replaces this key's entry; a cache that cannot be written is left alone. */
    public void put(String key, GemmRates rates) {
        try {
            ObjectNode root = JSON.createObjectNode();
            if (Files.isRegularFile(file)) {
                try {
                    JsonNode old = JSON.readTree(file.toFile());
                    if (old.path("entries").isObject()) {
                        root.set("entries", old.get("entries"));
                    }
                } catch (IOException | RuntimeException damaged) {
                    // rewritten below
                }
            }
            ObjectNode entries = root.has("entries") ? (ObjectNode) root.get("entries") : root.putObject("entries");
            entries.set(key, JSON.valueToTree(rates));
            AtomicFiles.createDirectories(file.getParent());
            AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        } catch (IOException | RuntimeException e) {
            // Caching is an optimisation: the next run probes again.
        }
    }
}
