package dev.lolcats4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightFolderTest {

    @TempDir
    Path tmp;

    @Test
    void readsShardedBf16FixtureThroughIndex() throws IOException {
        Path dir = Fixtures.parity("models/llama3-bf16-tied");
        try (WeightFolder w = WeightFolder.open(dir)) {
            assertEquals(29, w.names().size());
            assertEquals("model.embed_tokens.weight", w.names().iterator().next());
            assertFalse(w.contains("lm_head.weight"), "tied embeddings: no lm_head");
            TensorInfo down = w.info("model.layers.1.mlp.down_proj.weight");
            assertEquals(DType.BF16, down.dtype());
            assertArrayEquals(new long[] {96, 256}, down.shape());
            Path shard2 = dir.resolve("model-00002-of-00002.safetensors");
            assertEquals(shard2, w.fileOf("model.layers.1.mlp.down_proj.weight"));
            assertEquals(dir.resolve("model-00001-of-00002.safetensors"), w.fileOf("model.embed_tokens.weight"));

            TensorData t = w.get("model.layers.1.mlp.down_proj.weight");
            assertEquals(DType.BF16, t.dtype());
            float[] v = t.toFloatArray();
            // bf16 bits read with python at header(1456)+8+98496+2*i: 0xbdfd, 0x3dd3, 0x3d45
            assertEquals(-0.12353515625f, v[0]);
            assertEquals(0.10302734375f, v[10 * 256 + 20]);
            assertEquals(0.048095703125f, v[95 * 256 + 255]);
            try (RandomAccessFile raf = new RandomAccessFile(shard2.toFile(), "r")) {
                raf.seek(8 + 1456 + 98496 + 2L * (10 * 256 + 20));
                int bits = Short.reverseBytes(raf.readShort()) & 0xFFFF;
                assertEquals(0x3dd3, bits);
                assertEquals(Float.intBitsToFloat(bits << 16), v[10 * 256 + 20]);
            }
        }
    }

    @Test
    void readsSingleFileFolderAndPlainFilePath() {
        Path dir = Fixtures.parity("models/llama-f32");
        try (WeightFolder w = WeightFolder.open(dir);
             WeightFolder f = WeightFolder.open(dir.resolve("model.safetensors"))) {
            assertEquals(21, w.names().size());
            assertEquals(w.names(), f.names());
            assertTrue(w.contains("lm_head.weight"));
            assertArrayEquals(new long[] {256, 64}, w.info("lm_head.weight").shape());
            assertEquals(w.get("model.norm.weight"), f.get("model.norm.weight"));
            BadInputException e = assertThrows(BadInputException.class, () -> w.get("nope"));
            assertEquals(dir + ": nope: no such tensor in the model weights", e.getMessage());
        }
    }

    @Test
    void fallsBackToAllSafetensorsFiles() {
        SafetensorsWriter.write(tmp.resolve("b.safetensors"),
                Map.of("y", TensorData.ofFloats(new long[] {1}, new float[] {2f})), null);
        SafetensorsWriter.write(tmp.resolve("a.safetensors"),
                Map.of("x", TensorData.ofFloats(new long[] {1}, new float[] {1f})), null);
        try (WeightFolder w = WeightFolder.open(tmp)) {
            assertEquals(List.of("x", "y"), List.copyOf(w.names()));
            assertArrayEquals(new float[] {2f}, w.get("y").toFloatArray());
            assertEquals(tmp.resolve("b.safetensors"), w.fileOf("y"));
        }
        SafetensorsWriter.write(tmp.resolve("c.safetensors"),
                Map.of("x", TensorData.ofFloats(new long[] {1}, new float[] {3f})), null);
        BadInputException e = assertThrows(BadInputException.class, () -> WeightFolder.open(tmp));
        assertEquals(tmp.resolve("c.safetensors") + ": x: tensor also present in " + tmp.resolve("a.safetensors"),
                e.getMessage());
    }

    @Test
    void folderWithoutWeights() throws IOException {
        Files.writeString(tmp.resolve("config.json"), "{}");
        BadInputException e = assertThrows(BadInputException.class, () -> WeightFolder.open(tmp));
        assertEquals(tmp + ": no *.safetensors weights found", e.getMessage());
        Path absent = tmp.resolve("absent");
        assertEquals(absent + ": model folder: does not exist",
                assertThrows(BadInputException.class, () -> WeightFolder.open(absent)).getMessage());
    }

    @Test
    void missingShard() throws IOException {
        Path src = Fixtures.parity("models/llama3-bf16-tied");
        Files.copy(src.resolve("model.safetensors.index.json"), tmp.resolve("model.safetensors.index.json"));
        Files.copy(src.resolve("model-00001-of-00002.safetensors"), tmp.resolve("model-00001-of-00002.safetensors"));
        BadInputException e = assertThrows(BadInputException.class, () -> WeightFolder.open(tmp));
        String m = e.getMessage();
        assertTrue(m.startsWith(tmp.resolve("model.safetensors.index.json") + ": weight_map."), m);
        assertTrue(m.endsWith(": shard file model-00002-of-00002.safetensors does not exist"), m);
    }

    @Test
    void indexPointingOutsideTheFolderIsRejected() throws IOException {
        Files.writeString(tmp.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"w\":\"../elsewhere.safetensors\"}}");
        String m = assertThrows(BadInputException.class, () -> WeightFolder.open(tmp)).getMessage();
        assertTrue(m.contains("weight_map.w: expected a file name in"), m);
    }

    @Test
    void writeShardedSplitsAndReadsBack() throws IOException {
        Map<String, TensorData> in = new LinkedHashMap<>();
        for (int i = 0; i < 5; i++) {
            float[] v = new float[10];
            for (int j = 0; j < v.length; j++) {
                v[j] = i * 100 + j;
            }
            in.put("layer" + i + ".weight", TensorData.ofFloats(new long[] {2, 5}, v)); // 40 bytes each
        }
        SafetensorsWriter.writeSharded(tmp, in, 100); // 2 tensors per shard -> 3 shards
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json"), Fixtures.listNames(tmp));
        JsonNode index = new ObjectMapper().readTree(tmp.resolve("model.safetensors.index.json").toFile());
        assertEquals(200, index.get("metadata").get("total_size").asLong());
        assertEquals("model-00003-of-00003.safetensors", index.get("weight_map").get("layer4.weight").asText());
        assertEquals("model-00001-of-00003.safetensors", index.get("weight_map").get("layer1.weight").asText());
        try (WeightFolder w = WeightFolder.open(tmp)) {
            assertEquals(List.copyOf(in.keySet()), List.copyOf(w.names()));
            for (var e : in.entrySet()) {
                assertEquals(e.getValue(), w.get(e.getKey()));
            }
            assertEquals(304f, w.get("layer3.weight").toFloatArray()[4]);
        }
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("model-00002-of-00003.safetensors"))) {
            assertEquals(List.of("layer2.weight", "layer3.weight"), List.copyOf(f.tensors().keySet()));
            assertEquals(Map.of("format", "pt"), f.metadata());
        }

        Path single = tmp.resolve("single");
        SafetensorsWriter.writeSharded(single, in, 1000);
        assertEquals(List.of("model.safetensors"), Fixtures.listNames(single));
    }

    @Test
    void atomicFilesReplaceAndCleanUp() throws IOException {
        Path f = tmp.resolve("sub/out.json");
        AtomicFiles.writeString(f, "{\"a\":1}");
        assertEquals("{\"a\":1}", Files.readString(f));
        AtomicFiles.writeString(f, "second");
        assertEquals("second", Files.readString(f));
        assertThrows(java.io.UncheckedIOException.class, () -> AtomicFiles.write(f, out -> {
            out.write("partial".getBytes());
            throw new IOException("disk full (simulated)");
        }));
        assertEquals("second", Files.readString(f));
        assertEquals(List.of("out.json"), Fixtures.listNames(tmp.resolve("sub")));
    }
}
