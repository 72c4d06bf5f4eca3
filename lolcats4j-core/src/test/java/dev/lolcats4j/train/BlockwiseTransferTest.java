package dev.lolcats4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.train.blockwise.BlockJob;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import dev.lolcats4j.train.blockwise.BlockProgress;
import dev.lolcats4j.train.blockwise.BlockResult;
import dev.lolcats4j.train.blockwise.BlockRunners;
import dev.lolcats4j.train.blockwise.BlockTraining;
import dev.lolcats4j.train.blockwise.BlockwiseTransfer;
import dev.lolcats4j.train.blockwise.HiddenStateCache;
import dev.lolcats4j.train.blockwise.LocalBlockRunner;
import java.io.File;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockwiseTransferTest {

    private static final int SEQ = 32;
    private static final int STEPS = 100;

    @Test
    void oneBlockOfAllLayersGivesJointStageOnesAdapter(@TempDir Path tmp) throws Exception {
        Path model = BlockwiseFixtures.model(tmp.resolve("model"), 3);
        PackedDataset data = BlockwiseFixtures.data(tmp, 400, 64);
        Linearization.run(BlockwiseFixtures.options(model, tmp.resolve("joint"), 8, 4, 2, null, null), data, Linearization.Listener.SILENT);
        Linearization.Result r = Linearization.run(BlockwiseFixtures.options(model, tmp.resolve("blocks"), 8, 4, 2, 2, null), data,
                Linearization.Listener.SILENT);
        assertEquals(1, r.blocks().size());
        int compared = assertSameAdapter(tmp.resolve("joint"), tmp.resolve("blocks"), 1e-5);
        assertEquals(2 * 3, compared, "feature_map_q, feature_map_k and window_factors of both layers");
        // The two runs must really have trained (else equality proves nothing).
        try (SafetensorsFile a = SafetensorsFile.open(tmp.resolve("joint/adapter.safetensors"))) {
            float[] factors = a.get("model.layers.1.self_attn.window_factors").toFloatArray();
            assertTrue(Math.abs(factors[0] - dev.lolcats4j.lolcats.HybridParams.INITIAL_WINDOW_LOGIT) > 1e-4, "window factors trained");
        }
    }

    @Test
    void blocksOfOneLayerEachLowerTheirMseTenfold(@TempDir Path tmp) throws Exception {
        Path model = BlockwiseFixtures.model(tmp.resolve("model"), 3);
        PackedDataset data = BlockwiseFixtures.data(tmp, 600, SEQ);
        LinearizeOptions o = BlockwiseFixtures.options(model, tmp.resolve("out"), STEPS, 4, 4, 1, tmp.resolve("cache"));
        o = new LinearizeOptions(o.modelDir(), o.computeType(), null, o.out(), "transfer", false, o.conversion(), o.lora(), STEPS,
                1e-2, 0, null, 1e-4, false, 4, 4, 0, STEPS / 4, 4, 10, 0, 42, o.blockwise());
        Linearization.Result r = Linearization.run(o, data, Linearization.Listener.SILENT);
        assertEquals(2, r.blocks().size());
        for (BlockResult b : r.blocks()) {
            assertTrue(b.initialMse() > 1e-6, "block " + b.blockIndex() + " starts away from the teacher");
            assertTrue(b.finalMse() * 10 <= b.initialMse(), "block " + b.blockIndex() + ": MSE " + b.initialMse() + " -> "
                    + b.finalMse() + " (less than tenfold)");
            assertEquals(STEPS, b.steps());
            System.out.println("block " + b.blockIndex() + ": MSE " + b.initialMse() + " -> " + b.finalMse());
        }
        Path stage1 = tmp.resolve("out/stage1");
        assertEquals(3, Files.readAllLines(stage1.resolve(BlockwiseTransfer.TABLE_FILE)).size(), "header + 2 blocks");
        assertTrue(Files.size(stage1.resolve(BlockwiseTransfer.PLOT_FILE)) > 1000);
        // The stitched adapter is a complete adapter of the whole model.
        assertEquals(TrainingTest.SMALL, AdapterConfigJson.read(tmp.resolve("out")));
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("out/adapter.safetensors"))) {
            assertEquals(6, f.tensors().size());
        }
        // The cache holds bf16 inputs of both blocks: 2 bytes x tokens x hidden x L/k.
        HiddenStateCache cache = HiddenStateCache.open(tmp.resolve("cache"));
        long tokens = (long) (data.train().size() + data.heldOut().size()) * SEQ;
        long payload = cache.shards().stream().mapToLong(s -> 2L * s.sequences() * SEQ * 64).sum();
        assertEquals(2L * tokens * 64 * 2, payload);
        assertTrue(cache.shardBytes() >= payload && cache.shardBytes() < payload + 1024L * cache.shards().size());
    }

    @Test
    void killedBlockJobResumesAndFinishedBlocksAreNotRecomputed(@TempDir Path tmp) throws Exception {
        Path model = BlockwiseFixtures.model(tmp.resolve("model"), 5);
        PackedDataset data = BlockwiseFixtures.data(tmp, 300, 32);
        Path cacheDir = tmp.resolve("cache");
        HiddenStateCache.prepare(cacheDir, model, ComputeType.F32, data, BlockwiseFixtures.boundaries(2, 1), 64 * 1024,
                HiddenStateCache.Listener.SILENT);
        BlockTraining training = new BlockTraining(60, 1e-2, 0, 4, 2, 10, 5, 2, 2, 42, 0);
        List<BlockJobSpec> jobs = BlockwiseTransfer.plan(model, cacheDir, tmp.resolve("run"), 2, 1, "F32", TrainingTest.SMALL, training);
        BlockJob.run(jobs.get(0));
        Path done0 = jobs.get(0).blockDir().resolve(BlockJob.DONE_FILE);
        long doneTime = Files.getLastModifiedTime(done0).toMillis();

        Path specFile = tmp.resolve("spec.bin");
        try (ObjectOutputStream out = new ObjectOutputStream(Files.newOutputStream(specFile))) {
            out.writeObject(jobs.get(1));
        }
        Process victim = probe(tmp, specFile, 150);
        Path state = jobs.get(1).blockDir().resolve("train/checkpoint/state.json");
        long deadline = System.nanoTime() + 120_000_000_000L;
        int checkpointStep = 0;
        while (System.nanoTime() < deadline && victim.isAlive()) {
            if (Files.isRegularFile(state)) {
                checkpointStep = new com.fasterxml.jackson.databind.ObjectMapper().readTree(state.toFile()).path("step").asInt();
                if (checkpointStep >= 6) {
                    break;
                }
            }
            Thread.sleep(20);
        }
        assertTrue(victim.isAlive(), "the block job finished before it could be killed; the test proves nothing");
        victim.destroyForcibly(); // SIGKILL on Linux
        victim.waitFor();
        assertFalse(BlockJob.isDone(jobs.get(1)), "a killed job leaves no done marker");
        assertFalse(Files.exists(jobs.get(1).blockDir().resolve(BlockJob.ADAPTER_DIR)), "nor a block adapter");

        List<Integer> trained = new ArrayList<>();
        List<BlockResult> results = new LocalBlockRunner(1).run(jobs, new BlockProgress() {
            @Override
            public void onBlockFinished(BlockJobSpec job, BlockResult result) {
                if (!result.reused()) {
                    trained.add(job.blockIndex());
                }
            }
        });
        assertEquals(List.of(1), trained, "only the missing block runs again");
        assertTrue(results.get(0).reused());
        assertEquals(doneTime, Files.getLastModifiedTime(done0).toMillis(), "block 0 untouched");
        assertEquals(60, results.get(1).steps());
        assertEquals(61, Files.readAllLines(jobs.get(1).blockDir().resolve("train/metrics.csv")).size(),
                "header + one row per step: the rerun resumed from the checkpoint");
        // Running again recomputes nothing.
        assertTrue(new LocalBlockRunner(2).run(jobs, BlockProgress.SILENT).stream().allMatch(BlockResult::reused));
    }

    @Test
    void damagedShardIsDetectedAndRewritten(@TempDir Path tmp) throws Exception {
        Path model = BlockwiseFixtures.model(tmp.resolve("model"), 7);
        PackedDataset data = BlockwiseFixtures.data(tmp, 200, 32);
        Path cacheDir = tmp.resolve("cache");
        HiddenStateCache cache = HiddenStateCache.prepare(cacheDir, model, ComputeType.F32, data, List.of(0, 1), 16 * 1024,
                HiddenStateCache.Listener.SILENT);
        assertTrue(cache.shards().size() >= 4, "several shards: " + cache.shards().size());
        HiddenStateCache.Shard victim = cache.shards().stream().filter(s -> s.boundary() == 1).skip(1).findFirst().orElseThrow();
        Path file = cacheDir.resolve(victim.file());
        byte[] original = Files.readAllBytes(file);
        byte[] damaged = original.clone();
        damaged[damaged.length - 3] ^= 0x10; // one bit of one hidden value
        Files.write(file, damaged, StandardOpenOption.TRUNCATE_EXISTING);

        BadInputException e = assertThrows(BadInputException.class, () -> HiddenStateCache.open(cacheDir).inputs(1));
        assertTrue(e.getMessage().contains(victim.file()) && e.getMessage().contains("checksum"), e.getMessage());
        HiddenStateCache.open(cacheDir).inputs(0).close(); // the other boundary is intact

        List<String> messages = new ArrayList<>();
        HiddenStateCache.prepare(cacheDir, model, ComputeType.F32, data, List.of(0, 1), 16 * 1024, messages::add);
        assertTrue(messages.stream().anyMatch(m -> m.contains(victim.file()) && m.contains("rewriting")), messages.toString());
        assertTrue(java.util.Arrays.equals(original, Files.readAllBytes(file)), "the rewritten shard equals the original");
        HiddenStateCache.open(cacheDir).inputs(1).close();
    }

    @Test
    void cacheOfAnotherModelOrOtherDataIsRefused(@TempDir Path tmp) throws Exception {
        Path model = BlockwiseFixtures.model(tmp.resolve("model"), 7);
        Path other = BlockwiseFixtures.model(tmp.resolve("other"), 8);
        PackedDataset data = BlockwiseFixtures.data(tmp, 200, 32);
        Path cacheDir = tmp.resolve("cache");
        HiddenStateCache.prepare(cacheDir, model, ComputeType.F32, data, List.of(0, 1), 64 * 1024, HiddenStateCache.Listener.SILENT);
        String m = assertThrows(BadInputException.class, () -> HiddenStateCache.prepare(cacheDir, other, ComputeType.F32, data,
                List.of(0, 1), 64 * 1024, HiddenStateCache.Listener.SILENT)).getMessage();
        assertTrue(m.contains("model_fingerprint"), m);
        PackedDataset otherData = BlockwiseFixtures.data(tmp.resolve("d2"), 210, 32);
        m = assertThrows(BadInputException.class, () -> HiddenStateCache.prepare(cacheDir, model, ComputeType.F32, otherData,
                List.of(0, 1), 64 * 1024, HiddenStateCache.Listener.SILENT)).getMessage();
        assertTrue(m.contains("data_fingerprint"), m);
        m = assertThrows(BadInputException.class, () -> HiddenStateCache.prepare(cacheDir, model, ComputeType.BF16, data,
                List.of(0, 1), 64 * 1024, HiddenStateCache.Listener.SILENT)).getMessage();
        assertTrue(m.contains("compute_type"), m);
        m = assertThrows(BadInputException.class, () -> HiddenStateCache.open(cacheDir).checkModel(other, ComputeType.F32)).getMessage();
        assertTrue(m.contains("model_fingerprint"), m);
    }

    @Test
    void runnerLookup() {
        assertTrue(BlockRunners.find("local") != null);
        String m = assertThrows(BadInputException.class, () -> BlockRunners.find("spark")).getMessage();
        assertTrue(m.startsWith("--runner") && m.contains("lolcats4j-spark"), m);
    }

    private static Process probe(Path work, Path spec, long pauseMillis) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        for (String property : new String[] {"org.bytedeco.javacpp.cachedir", "jna.tmpdir", "DJL_CACHE_DIR"}) {
            if (System.getProperty(property) != null) {
                command.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BlockJobProbe.class.getName());
        command.add(spec.toString());
        command.add(Long.toString(pauseMillis));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(new File(work.toFile(), "probe-log.txt")).start();
    }

    /** Every tensor of two adapter folders equal within {@code tolerance}; returns how many tensors. */
    static int assertSameAdapter(Path a, Path b, double tolerance) {
        try (SafetensorsFile x = SafetensorsFile.open(a.resolve("adapter.safetensors"));
                SafetensorsFile y = SafetensorsFile.open(b.resolve("adapter.safetensors"))) {
            assertEquals(x.tensors().keySet(), y.tensors().keySet());
            for (String name : x.tensors().keySet()) {
                float[] p = x.get(name).toFloatArray();
                float[] q = y.get(name).toFloatArray();
                assertEquals(p.length, q.length, name);
                for (int i = 0; i < p.length; i++) {
                    assertEquals(p[i], q[i], tolerance, name + "[" + i + "]");
                }
            }
            assertEquals(AdapterConfigJson.read(a), AdapterConfigJson.read(b));
            return x.tensors().size();
        }
    }
}
