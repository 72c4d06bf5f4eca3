package dev.lolcats4j.io;

import dev.lolcats4j.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {

    @TempDir
    Path tmp;

    /** Header length of models/llama-f32/model.safetensors, read with python's struct. */
    private static final long LLAMA_F32_HEADER = 2128;

    private static float rawF32(Path file, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            raf.seek(offset);
            return Float.intBitsToFloat(Integer.reverseBytes(raf.readInt()));
        }
    }

    @Test
    void readsSingleFileF32Fixture() throws IOException {
        Path file = Fixtures.parity("models/llama-f32/model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(21, f.tensors().size());
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals("model.embed_tokens.weight", f.tensors().keySet().iterator().next());
            TensorInfo embed = f.tensors().get("model.embed_tokens.weight");
            assertEquals(DType.F32, embed.dtype());
            assertArrayEquals(new long[] {256, 64}, embed.shape());

            float[] e = f.get("model.embed_tokens.weight").toFloatArray();
            // values printed by python struct.unpack('<f', ...) on the raw file
            assertEquals(-0.15564477443695068f, e[0]);
            assertEquals(-0.6547747254371643f, e[3 * 64 + 7]);
            assertEquals(-0.04431639239192009f, e[255 * 64 + 63]);

            // model.norm.weight: data_offsets [410624, 410880] in the header
            TensorData norm = f.get("model.norm.weight");
            assertArrayEquals(new long[] {64}, norm.shape());
            long base = 8 + LLAMA_F32_HEADER + 410624;
            float[] n = norm.toFloatArray();
            for (int i : new int[] {0, 1, 17, 63}) {
                assertEquals(rawF32(file, base + 4L * i), n[i], "norm[" + i + "]");
            }
            assertEquals(1.101672649383545f, n[0]);
            assertTrue(norm.data().isDirect(), "memory-mapped");
            assertTrue(norm.data().isReadOnly());
        }
    }

    @Test
    void unknownTensorNameNamesTheFile() {
        Path file = Fixtures.parity("models/llama-f32/model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            BadInputException e = assertThrows(BadInputException.class, () -> f.get("model.nope"));
            assertTrue(e.getMessage().startsWith(file + ": model.nope: "), e.getMessage());
        }
    }

    @Test
    void roundTripsF32F16Bf16AndMetadata() throws IOException {
        ByteBuffer f16 = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x0001).flip();
        ByteBuffer bf16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) 0x3F80).putShort((short) 0xC0A0).flip();
        ByteBuffer i64 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-7).putLong(1L << 40).flip();
        Map<String, TensorData> in = new java.util.LinkedHashMap<>();
        in.put("b.f32", TensorData.ofFloats(new long[] {2, 2}, new float[] {1.5f, -0f, Float.MIN_VALUE, 3e38f}));
        in.put("a.f16", new TensorData(DType.F16, new long[] {3}, f16));
        in.put("c.bf16", new TensorData(DType.BF16, new long[] {1, 2}, bf16));
        in.put("d.ids", new TensorData(DType.I64, new long[] {2}, i64));
        in.put("e.empty", new TensorData(DType.F32, new long[] {0, 5}, ByteBuffer.allocate(0)));
        Path file = tmp.resolve("rt.safetensors");
        SafetensorsWriter.write(file, in, Map.of("format", "pt"));

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.copyOf(in.keySet()), List.copyOf(f.tensors().keySet()), "map order kept");
            assertEquals(Map.of("format", "pt"), f.metadata());
            for (var e : in.entrySet()) {
                assertEquals(e.getValue(), f.get(e.getKey()), e.getKey());
            }
            assertArrayEquals(new float[] {1f, -5f}, f.get("c.bf16").toFloatArray());
            assertEquals(-7L, f.get("d.ids").data().getLong(0));
        }
        assertEquals(List.of("rt.safetensors"), Fixtures.listNames(tmp), "no temp files left");
    }

    @Test
    void writerPadsHeaderWithSpacesToMultipleOf8() throws IOException {
        Map<String, TensorData> in = new java.util.LinkedHashMap<>();
        in.put("x", TensorData.ofFloats(new long[] {1}, new float[] {2f}));
        in.put("yy", TensorData.ofFloats(new long[] {3}, new float[] {1f, 2f, 3f}));
        Path file = tmp.resolve("p.safetensors");
        SafetensorsWriter.write(file, in, Map.of());
        byte[] bytes = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8);
        assertEquals(8 + headerLen + 16, bytes.length);
        String header = new String(bytes, 8, (int) headerLen, java.nio.charset.StandardCharsets.UTF_8);
        String json = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"yy\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]}}";
        assertEquals(json, header.stripTrailing());
        assertTrue(header.substring(json.length()).chars().allMatch(c -> c == ' '), "padding is spaces");
        assertTrue(header.length() - json.length() < 8);
        // data in map order: 2.0f then 1,2,3
        ByteBuffer data = ByteBuffer.wrap(bytes, (int) (8 + headerLen), 16).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2f, data.getFloat());
        assertEquals(1f, data.getFloat());
        assertEquals(2f, data.getFloat());
        assertEquals(3f, data.getFloat());
    }

    @Test
    void failedWriteLeavesNoTempAndKeepsOldFile() throws IOException {
        Path file = tmp.resolve("keep.safetensors");
        Files.writeString(file, "old");
        Map<String, TensorData> boom = new java.util.LinkedHashMap<>() {
            @Override
            public java.util.Collection<TensorData> values() {
                throw new IllegalStateException("simulated failure while writing data");
            }
        };
        boom.put("x", TensorData.ofFloats(new long[] {1}, new float[] {1f}));
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(file, boom, null));
        assertEquals("old", Files.readString(file));
        assertEquals(List.of("keep.safetensors"), Fixtures.listNames(tmp));

        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(tmp.resolve("new.safetensors"), boom, null));
        assertEquals(List.of("keep.safetensors"), Fixtures.listNames(tmp));
    }

    private BadInputException bad(Path file) {
        return assertThrows(BadInputException.class, () -> SafetensorsFile.open(file).close());
    }

    @Test
    void truncatedFile() throws IOException {
        Path file = tmp.resolve("t.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertEquals(file + ": header length: expected at least 8 bytes, found a file of 3 bytes", bad(file).getMessage());
    }

    @Test
    void truncatedDataSection() throws IOException {
        // a valid header claiming 16 bytes, but only 12 bytes of data follow
        Path file = Fixtures.rawSafetensors(tmp.resolve("t.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12);
        assertEquals(file + ": w.data_offsets: end 16 runs past the data section (12 bytes)", bad(file).getMessage());
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        Path file = Fixtures.rawSafetensors(tmp.resolve("m.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[768],\"data_offsets\":[0,3072]},"
                        + "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[256],\"data_offsets\":[3072,4096]}}", 3072);
        assertEquals(file + ": model.norm.weight.data_offsets: end 4096 runs past the data section (3072 bytes)",
                bad(file).getMessage());
    }

    @Test
    void headerLengthLargerThanFile() throws IOException {
        Path file = tmp.resolve("h.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Files.write(file, b.array());
        assertEquals(file + ": header length: header of 1000 bytes does not fit in a file of 20 bytes",
                bad(file).getMessage());
    }

    @Test
    void unsupportedDtypes() throws IOException {
        for (String dtype : new String[] {"F8_E4M3", "X99"}) {
            Path file = Fixtures.rawSafetensors(tmp.resolve(dtype + ".safetensors"),
                    "{\"w\":{\"dtype\":\"" + dtype + "\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4);
            String m = bad(file).getMessage();
            assertTrue(m.startsWith(file + ": w.dtype: expected a dtype in [F64, F32, F16, BF16"), m);
            assertTrue(m.endsWith("found \"" + dtype + "\""), m);
        }
    }

    @Test
    void overlappingOffsets() throws IOException {
        Path file = Fixtures.rawSafetensors(tmp.resolve("o.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16);
        assertEquals(file + ": b.data_offsets: bytes [8, 16) overlap a [0, 16)", bad(file).getMessage());
    }

    @Test
    void sizeDisagreesWithShape() throws IOException {
        Path file = Fixtures.rawSafetensors(tmp.resolve("s.safetensors"),
                "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", 8);
        assertEquals(file + ": w.data_offsets: expected 12 bytes for BF16[2, 3], found 8", bad(file).getMessage());
    }

    @Test
    void malformedHeaders() throws IOException {
        String[][] cases = {
                {"[1,2]", "header: expected a JSON object, found ARRAY"},
                {"{\"w\":", "header: invalid JSON"},
                {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", "w.shape[0]: expected a non-negative integer, found -1"},
                {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "w.data_offsets: expected an array of non-negative integers, found nothing"},
                {"{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "w.dtype: expected a string, found nothing"},
                {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "w.data_offsets: begin 4 is after end 0"},
                {"{\"__metadata__\":{\"n\":3}}", "__metadata__.n: expected a string, found NUMBER"},
        };
        for (String[] c : cases) {
            Path file = Fixtures.rawSafetensors(tmp.resolve("bad.safetensors"), c[0], 8);
            String m = bad(file).getMessage();
            assertTrue(m.startsWith(file + ": " + c[1]), "for " + c[0] + ": " + m);
        }
    }

    @Test
    void missingFile() {
        Path file = tmp.resolve("absent.safetensors");
        assertEquals(file + ": file: does not exist", bad(file).getMessage());
        assertFalse(Files.exists(file));
    }
}
