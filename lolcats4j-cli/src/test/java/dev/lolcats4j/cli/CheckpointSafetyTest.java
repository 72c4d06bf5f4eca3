package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.io.Checksums;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints of the training commands: checksummed, the last two kept, a damaged newest one
 * (truncated, bytes changed, NaN tensors, unreadable state) skipped for the previous one, none
 * intact refused, and a resume with other settings or inputs refused naming what changed.
 */
class CheckpointSafetyTest {

    @TempDir
    Path tmp;

    private Path data;
    private Path trained;

    private static final int STEPS = 6;

    @BeforeEach
    void trainOnce() throws IOException {
        data = Files.createDirectories(tmp.resolve("data")).resolve("corpus.txt");
        StringBuilder text = new StringBuilder();
        String[] words = {"the whale", "a ship", "the sea", "my captain", "the harpoon", "a storm"};
        for (int i = 0; i < 400; i++) {
            text.append(words[i % words.length]).append(i % 7 == 0 ? ".\n\n" : " and ");
        }
        Files.writeString(data, text.toString());
        trained = tmp.resolve("trained");
        pretrain(trained).assertOk();
    }

    private Cli.Result pretrain(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("pretrain", "--data", data.toString(), "--out", out.toString(),
                "--seq-len", "32", "--steps", Integer.toString(STEPS), "--hidden", "32", "--layers", "1", "--heads", "2",
                "--kv-heads", "1", "--intermediate", "64", "--batch", "4", "--micro-batch", "4", "--checkpoint-every", "2"));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    private Path copyOfTrained(String name) throws IOException {
        Path copy = tmp.resolve(name);
        try (Stream<Path> walk = Files.walk(trained)) {
            for (Path p : walk.toList()) {
                Path to = copy.resolve(trained.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
        return copy;
    }

    private static Path checkpoint(Path out) {
        return out.resolve("train/checkpoint");
    }

    @Test
    void everyCheckpointIsChecksummedAndTheLastTwoAreKept() throws IOException {
        List<String> files;
        try (Stream<Path> list = Files.list(checkpoint(trained))) {
            files = list.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(List.of("state-4.json", "state-4.safetensors", "state-6.json", "state-6.safetensors", "state.json"), files);
        for (int step : new int[] {4, 6}) {
            var state = Cli.JSON.readTree(checkpoint(trained).resolve("state-" + step + ".json").toFile());
            Path weights = checkpoint(trained).resolve("state-" + step + ".safetensors");
            assertEquals(Checksums.file(weights), state.get("weights_checksum").asText());
            assertEquals(Files.size(weights), state.get("weights_bytes").asLong());
            assertTrue(state.get("identity").has("--lr"), "the run's settings are recorded");
        }
    }

    /** Ways to damage the newest checkpoint (step 6); resume must fall back to step 4. */
    private enum Damage { TRUNCATED, BYTES_CHANGED, NAN_TENSORS, STATE_UNREADABLE }

    private void damage(Path out, int step, Damage how) throws IOException {
        Path weights = checkpoint(out).resolve("state-" + step + ".safetensors");
        Path json = checkpoint(out).resolve("state-" + step + ".json");
        switch (how) {
            case TRUNCATED -> {
                try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
                    f.setLength(f.length() / 2);
                }
            }
            case BYTES_CHANGED -> {
                try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
                    f.seek(f.length() - 100);
                    int b = f.read();
                    f.seek(f.length() - 100);
                    f.write(b ^ 0x55);
                }
            }
            case NAN_TENSORS -> {
                // Well-formed, with a matching checksum: only the values are wrong (a diverged run).
                Map<String, TensorData> tensors = new LinkedHashMap<>();
                try (SafetensorsFile file = SafetensorsFile.open(weights)) {
                    for (String name : file.tensors().keySet()) {
                        TensorData t = file.get(name);
                        float[] values = t.toFloatArray();
                        if (name.startsWith("param.")) {
                            Arrays.fill(values, Float.NaN);
                        }
                        tensors.put(name, TensorData.ofFloats(t.shape(), values));
                    }
                }
                SafetensorsWriter.write(weights, tensors, Map.of());
                ObjectNode state = (ObjectNode) Cli.JSON.readTree(json.toFile());
                state.put("weights_checksum", Checksums.file(weights));
                state.put("weights_bytes", Files.size(weights));
                Files.writeString(json, state.toPrettyString());
            }
            case STATE_UNREADABLE -> Files.writeString(json, "{\"step\": 6, \"weights\": ");
        }
    }

    @Test
    void aDamagedNewestCheckpointIsSkippedForThePreviousOne() throws IOException {
        byte[] expected = Files.readAllBytes(trained.resolve("model.safetensors"));
        for (Damage how : Damage.values()) {
            Path out = copyOfTrained("damaged-" + how);
            damage(out, 6, how);
            Cli.Result r = pretrain(out, "--resume");
            r.assertOk();
            assertTrue(r.err().contains("skipped damaged checkpoint") && r.err().contains("step 6")
                    && r.err().contains("resuming from step 4"), how + ": " + r.err());
            assertTrue(r.err().contains("resumed from step 4"), how + ": " + r.err());
            // Steps 5 and 6 were trained again from step 4 and give the same model as the first run.
            assertTrue(Arrays.equals(expected, Files.readAllBytes(out.resolve("model.safetensors"))), how + ": model differs");
        }
    }

    @Test
    void noIntactCheckpointIsRefusedChangingNothing() throws IOException {
        Path out = copyOfTrained("all-damaged");
        damage(out, 6, Damage.NAN_TENSORS);
        damage(out, 4, Damage.TRUNCATED);
        String error = refusedChangingNothing(() -> pretrain(out, "--resume"));
        assertTrue(error.contains("no intact checkpoint") && error.contains("step 6") && error.contains("step 4")
                && error.contains("NaN"), error);
    }

    @Test
    void resumingWithOtherSettingsOrInputsIsRefusedNamingWhatChanged() throws IOException {
        String error = refusedChangingNothing(() -> pretrain(trained, "--resume", "--lr", "1e-3"));
        assertTrue(error.contains("different --lr") && error.contains("0.003") && error.contains("0.001"), error);
        error = refusedChangingNothing(() -> pretrain(trained, "--resume", "--seed", "7"));
        assertTrue(error.contains("different --seed"), error);
        error = refusedChangingNothing(() -> pretrain(trained, "--resume", "--weight-decay", "0.2"));
        assertTrue(error.contains("different --weight-decay"), error);
        Files.writeString(data, Files.readString(data).replace("whale", "squid"));
        Map<String, String> dataBefore = Trees.hash(data.getParent());
        error = refusedChangingNothing(() -> pretrain(trained, "--resume"));
        assertTrue(error.contains("different --data") && error.contains("contents changed"), error);
        assertEquals(dataBefore, Trees.hash(data.getParent()));
    }

    @Test
    void forceReplacesAnExistingModelFolder() throws IOException {
        Path out = copyOfTrained("replaced");
        Files.writeString(out.resolve("stale.txt"), "from before");
        pretrain(out, "--force").assertOk();
        assertTrue(Files.notExists(out.resolve("stale.txt")), "--force replaces the folder");
        assertTrue(Arrays.equals(Files.readAllBytes(trained.resolve("model.safetensors")),
                Files.readAllBytes(out.resolve("model.safetensors"))), "same run, same bytes");
        try (Stream<Path> siblings = Files.list(tmp)) {
            assertTrue(siblings.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no lock or old copy left beside it");
        }
    }

    private String refusedChangingNothing(java.util.function.Supplier<Cli.Result> run) {
        Map<String, String> before = Trees.hash(tmp);
        Cli.Result r = run.get();
        assertEquals(2, r.exitCode(), () -> "stderr: " + r.err());
        assertEquals("", r.out());
        assertEquals(1, r.errLines().size(), () -> "stderr must be exactly one line: " + r.err());
        assertTrue(r.errLines().get(0).startsWith("error: "), r.err());
        assertEquals(before, Trees.hash(tmp), "files changed");
        return r.errLines().get(0);
    }
}
