package dev.lolcats4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.Checksums;
import dev.lolcats4j.io.DType;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.io.WriteFailedException;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The resumable checkpoints of one training folder ({@code out/checkpoint}). Each checkpoint
 * is a pair {@code state-STEP.safetensors} (parameters and optimiser moments) and
 * {@code state-STEP.json} (progress counters, the CRC32C and size of the safetensors file, and
 * the run's identity); {@code state.json} is a copy of the newest one's JSON, for people and
 * tools that watch a run. The newest two checkpoints are kept.
 *
 * <p>On resume the newest checkpoint that passes every check is used: its JSON parses, its
 * identity equals this run's (else bad input naming what changed: resuming with another
 * model, data or hyper-parameters is refused, not repaired), its weights file has the recorded
 * size and checksum, every tensor is finite, and the tensors fit the run's parameters. A
 * damaged newest checkpoint is reported and the previous one used; none intact is bad input.
 */
final class Checkpoints {

    /** How many checkpoints stay on disk: the newest, and one to fall back to if it is damaged. */
    static final int KEEP = 2;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern STATE_JSON = Pattern.compile("state-(\\d{1,9})\\.json");

    private final Path dir;
    private final Map<String, String> identity;

    /** @param identity what the run depends on, name to value, in the order differences are reported */
    Checkpoints(Path dir, Map<String, String> identity) {
        this.dir = dir;
        this.identity = identity;
    }

    /** Whether {@code trainFolder} (a TrainLoop output folder) holds a checkpoint written by any version. */
    static boolean exists(Path trainFolder) {
        return Files.isRegularFile(trainFolder.resolve("checkpoint/state.json"));
    }

    /**
     * Writes the checkpoint of {@code step}: the tensors, then their JSON (which is what makes the
     * checkpoint count, so a crash in between leaves only an orphan file), then state.json, then
     * drops all but the newest {@link #KEEP}.
     */
    void save(int step, ObjectNode progress, Map<String, TensorData> tensors) {
        AtomicFiles.createDirectories(dir);
        String weights = "state-" + step + ".safetensors";
        Path weightsFile = dir.resolve(weights);
        SafetensorsWriter.write(weightsFile, tensors, Map.of());
        ObjectNode state = JSON.createObjectNode();
        state.put("format", 2);
        state.put("step", step);
        state.put("weights", weights);
        try {
            state.put("weights_bytes", Files.size(weightsFile));
        } catch (IOException e) {
            throw new WriteFailedException(weightsFile, e);
        }
        state.put("weights_checksum", Checksums.file(weightsFile));
        state.setAll(progress);
        ObjectNode id = state.putObject("identity");
        identity.forEach(id::put);
        String text = state.toPrettyString() + "\n";
        AtomicFiles.writeString(dir.resolve("state-" + step + ".json"), text);
        AtomicFiles.writeString(dir.resolve("state.json"), text);
        List<Integer> steps = steps();
        for (int old : steps.subList(Math.min(KEEP, steps.size()), steps.size())) {
            delete(dir.resolve("state-" + old + ".json"));
            delete(dir.resolve("state-" + old + ".safetensors"));
        }
        // Orphans of checkpoints whose JSON never made it (a crash between the two writes).
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (name.startsWith("state-") && name.endsWith(".safetensors")
                        && !Files.exists(dir.resolve(name.replace(".safetensors", ".json")))) {
                    delete(f);
                }
            }
        } catch (IOException e) {
            throw new WriteFailedException(dir, e);
        }
    }

    /**
     * Finds the newest intact checkpoint and hands its JSON and tensors to {@code restore}
     * (which throws if they do not fit the run). Empty if there is no checkpoint at all.
     *
     * @param warn hears which damaged checkpoints were skipped
     * @throws BadInputException if the run's identity changed, or no checkpoint is intact
     */
    Optional<JsonNode> restore(Restorer restore, Consumer<String> warn) {
        return restore(restore, warn, false);
    }

    private Optional<JsonNode> restore(Restorer restore, Consumer<String> warn, boolean subsetOnly) {
        List<Integer> steps = steps();
        if (steps.isEmpty()) {
            if (Files.exists(dir.resolve("state.json"))) {
                throw new BadInputException(dir.resolve("state.json") + ": checkpoint without checksums (made by an older "
                        + "lolcats4j) or its files are missing; start over with --force");
            }
            return Optional.empty();
        }
        List<String> damaged = new ArrayList<>();
        for (int step : steps) {
            Path jsonFile = dir.resolve("state-" + step + ".json");
            JsonNode state;
            try {
                state = JSON.readTree(jsonFile.toFile());
                if (state == null || !state.isObject() || state.path("step").asInt(-1) != step) {
                    throw new IOException("not a checkpoint state");
                }
            } catch (IOException e) {
                damaged.add("step " + step + ": " + jsonFile.getFileName() + " unreadable");
                continue;
            }
            checkIdentity(jsonFile, state.path("identity"), subsetOnly);
            String problem = verify(state, restore);
            if (problem != null) {
                damaged.add("step " + step + ": " + problem);
                continue;
            }
            if (!damaged.isEmpty()) {
                warn.accept("warning: skipped damaged checkpoint(s) (" + String.join("; ", damaged) + "); resuming from step " + step);
            }
            return Optional.of(state);
        }
        throw new BadInputException(dir + ": no intact checkpoint to resume from (" + String.join("; ", damaged)
                + "); start over with --force");
    }

    /**
     * Before any expensive step of a resume: the newest checkpoint that is intact (checksum,
     * finite tensors) must have been made with the same values of {@code subset} (some of the
     * identity, e.g. the command-line options). Refuses, as {@link #restore} would, when the
     * identity differs or no checkpoint is intact; does nothing when there is no checkpoint.
     * {@link #restore} checks everything again, including that the tensors fit the run.
     */
    static void precheck(Path dir, Map<String, String> subset) {
        new Checkpoints(dir, subset).restore(file -> { }, message -> { }, true);
    }

    /** Loads a verified checkpoint into the run; throws anything if the tensors do not fit. */
    interface Restorer {
        void accept(SafetensorsFile file);
    }

    /** Null if the checkpoint's weights are intact and were restored, else what is wrong with them. */
    private String verify(JsonNode state, Restorer restore) {
        String name = state.path("weights").asText("");
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            return "no weights file named";
        }
        Path file = dir.resolve(name);
        try {
            if (!Files.isRegularFile(file)) {
                return name + " missing";
            }
            long bytes = Files.size(file);
            if (bytes != state.path("weights_bytes").asLong(-1)) {
                return name + " has " + bytes + " bytes, expected " + state.path("weights_bytes").asLong(-1) + " (truncated?)";
            }
        } catch (IOException e) {
            return name + ": " + e.getMessage();
        }
        String checksum = Checksums.file(file);
        if (!checksum.equals(state.path("weights_checksum").asText())) {
            return name + " checksum " + checksum + ", expected " + state.path("weights_checksum").asText();
        }
        try (SafetensorsFile weights = SafetensorsFile.open(file)) {
            for (String tensor : weights.tensors().keySet()) {
                if (!finite(weights.get(tensor))) {
                    return name + ": tensor " + tensor + " holds NaN or infinite values";
                }
            }
            restore.accept(weights);
        } catch (RuntimeException e) {
            return name + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        return null;
    }

    private void checkIdentity(Path jsonFile, JsonNode stored, boolean subsetOnly) {
        Map<String, String> before = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = stored.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            before.put(e.getKey(), e.getValue().asText());
        }
        for (Map.Entry<String, String> e : identity.entrySet()) {
            String was = before.get(e.getKey());
            if (!e.getValue().equals(was)) {
                throw new BadInputException(jsonFile + ": resuming with a different " + e.getKey() + ": "
                        + difference(was, e.getValue()) + " (start over with --force, or resume with the same setting)");
            }
        }
        for (String name : before.keySet()) {
            if (!subsetOnly && !identity.containsKey(name)) {
                throw new BadInputException(jsonFile + ": resuming with a different " + name + ": the checkpoint has "
                        + before.get(name) + ", this run does not set it (start over with --force)");
            }
        }
    }

    private static String difference(String was, String now) {
        if (was == null) {
            return "the checkpoint does not record it";
        }
        if (was.startsWith(Checksums.PREFIX) || now.startsWith(Checksums.PREFIX)) {
            return "its contents changed since the checkpoint (" + was + ", now " + now + ")";
        }
        return "the checkpoint has " + was + ", this run has " + now;
    }

    private static boolean finite(TensorData t) {
        if (t.dtype() != DType.F32) {
            return true; // checkpoints hold float32 only; other types are caught by the restorer
        }
        FloatBuffer floats = t.data().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        while (floats.hasRemaining()) {
            if (!Float.isFinite(floats.get())) {
                return false;
            }
        }
        return true;
    }

    /** Steps of the checkpoints whose JSON exists, newest first. */
    private List<Integer> steps() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> STATE_JSON.matcher(p.getFileName().toString())).filter(Matcher::matches)
                    .map(m -> Integer.parseInt(m.group(1))).sorted(Comparator.reverseOrder()).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("listing " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new WriteFailedException(file, e);
        }
    }
}
