package dev.lolcats4j.io;

import dev.lolcats4j.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TorchCheckpointReaderTest {

    @TempDir
    Path tmp;

    private static final Path REF = Fixtures.parity("adapters/llama-f32-sw-lora/reference_pt");

    @Test
    void referenceCheckpointsMatchTheAdapterSafetensors() {
        Map<String, TensorData> distill = TorchCheckpointReader.readStateDict(REF.resolve("distill.pt"), "model_state_dict");
        Map<String, TensorData> ft = TorchCheckpointReader.readStateDict(REF.resolve("ft.pt"), "model_state_dict");
        // counts from `python3 -m pickletools` on the two data.pkl files
        assertEquals(6, distill.size());
        assertEquals(16, ft.size());
        assertArrayEquals(new long[] {4, 16, 8}, distill.get("model.layers.0.self_attn.feature_map_q.mlp.layer").shape());
        assertArrayEquals(new long[] {1, 4, 1, 1}, distill.get("model.layers.1.self_attn.window_factors").shape());

        Set<String> seen = new HashSet<>();
        try (SafetensorsFile adapter = SafetensorsFile.open(REF.resolveSibling("adapter.safetensors"))) {
            for (Map<String, TensorData> sd : List.of(distill, ft)) {
                for (var e : sd.entrySet()) {
                    TensorData pt = e.getValue();
                    TensorData st = adapter.get(e.getKey());
                    assertArrayEquals(st.shape(), pt.shape(), e.getKey());
                    if (pt.dtype() == st.dtype()) {
                        assertEquals(st.data(), pt.data(), "bitwise " + e.getKey());
                    } else {
                        // e.g. bf16 checkpoint against an f32 adapter: equal after rounding to bf16
                        float[] a = pt.toFloatArray();
                        float[] b = st.toFloatArray();
                        for (int i = 0; i < a.length; i++) {
                            assertEquals(a[i], b[i], Math.abs(b[i]) * 0x1p-8f, e.getKey() + "[" + i + "]");
                        }
                    }
                    seen.add(e.getKey());
                }
            }
            assertEquals(adapter.tensors().keySet(), seen, "the two checkpoints together hold every adapter tensor");
        }
        assertEquals(DType.F32, ft.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight").dtype());
    }

    @Test
    void topLevelKeepsTheStep() {
        assertEquals(100L, TorchCheckpointReader.readTopLevel(REF.resolve("distill.pt")).get("step"));
        Map<String, Object> top = TorchCheckpointReader.readTopLevel(REF.resolve("ft.pt"));
        assertEquals(List.of("model_state_dict", "step"), List.copyOf(top.keySet()));
        assertEquals(200L, top.get("step"));
    }

    @Test
    void missingKeyListsTopLevelKeys() {
        Path file = REF.resolve("distill.pt");
        BadInputException e = assertThrows(BadInputException.class,
                () -> TorchCheckpointReader.readStateDict(file, "optimizer_state_dict"));
        assertEquals(file + ": optimizer_state_dict: not found; top-level keys are [model_state_dict, step]",
                e.getMessage());
        BadInputException notDict = assertThrows(BadInputException.class,
                () -> TorchCheckpointReader.readStateDict(file, "step"));
        assertEquals(file + ": step: expected a dict of tensors, found 100", notDict.getMessage());
    }

    @Test
    void nonTorchFilesAreBadInput() throws IOException {
        Path text = Files.writeString(tmp.resolve("notes.pt"), "just some text\n");
        BadInputException e = assertThrows(BadInputException.class,
                () -> TorchCheckpointReader.readStateDict(text, "model_state_dict"));
        assertTrue(e.getMessage().startsWith(text + ": format: expected a torch.save zip archive"), e.getMessage());

        Path zip = tmp.resolve("other.zip");
        writeZip(zip, Map.of("hello/readme.txt", "hi".getBytes(StandardCharsets.UTF_8)));
        e = assertThrows(BadInputException.class, () -> TorchCheckpointReader.readTopLevel(zip));
        assertTrue(e.getMessage().startsWith(zip + ": data.pkl: not found"), e.getMessage());

        Path safetensors = Fixtures.parity("models/llama-f32/model.safetensors");
        assertThrows(BadInputException.class, () -> TorchCheckpointReader.readTopLevel(safetensors));
        Path absent = tmp.resolve("absent.pt");
        assertEquals(absent + ": file: does not exist",
                assertThrows(BadInputException.class, () -> TorchCheckpointReader.readTopLevel(absent)).getMessage());
    }

    @Test
    void unsupportedOpcodeNamesTheByte() throws IOException {
        Path file = tmp.resolve("bad.pt");
        writeZip(file, Map.of("arch/data.pkl", new byte[] {(byte) 0x80, 2, (byte) 0xff, '.'}));
        BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpointReader.readTopLevel(file));
        assertEquals(file + ": arch/data.pkl: unsupported pickle opcode 0xff at byte 2", e.getMessage());
    }

    /** Protocol-0 text opcodes (INT, FLOAT, STRING, PUT/GET) and APPEND of a single item. */
    @Test
    void textOpcodesAndSingleAppend() throws IOException {
        Path file = tmp.resolve("text.pt");
        String pickle = "(dp0\nS'n'\np1\nI42\nsS'x'\np2\nF0.5\nsS'l'\np3\n(lp4\nI7\naI8\nasS'again'\np5\ng1\ns.";
        writeZip(file, Map.of("arch/data.pkl", pickle.getBytes(StandardCharsets.US_ASCII)));
        Map<String, Object> top = TorchCheckpointReader.readTopLevel(file);
        assertEquals(42L, top.get("n"));
        assertEquals(0.5, top.get("x"));
        assertEquals(List.of(7L, 8L), top.get("l"));
        assertEquals("n", top.get("again"));
    }

    /** A class of the training script is refused by name, as torch.load(weights_only=True) does. */
    @Test
    void unknownGlobalIsRefusedByName() throws IOException {
        Pickle p = new Pickle();
        p.op(0x80).op(2).op('}').op('(');
        p.str("opt").str("torch.optim.adamw").str("AdamW").op(0x93).op(')').op(0x81);
        p.op('u').op('.');
        Path file = tmp.resolve("opt.pt");
        writeZip(file, Map.of("arch/data.pkl", p.bytes()));
        BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpointReader.readTopLevel(file));
        assertTrue(e.getMessage().startsWith(file + ": arch/data.pkl: refusing the Python global torch.optim.adamw.AdamW"),
                e.getMessage());
    }

    /** A hand-written protocol-4 pickle exercising strided views, bf16, memo, wrappers and unknown classes. */
    @Test
    void syntheticCheckpointWithStridesBf16AndOpaqueObjects() throws IOException {
        Pickle p = new Pickle();
        p.op(0x80).op(4).op(0x95).raw(le(8).putLong(0).array()); // PROTO 4, FRAME (length advisory)
        p.op('}').op(0x94); // top dict, memo 0
        p.op('(');
        p.str("weights").op(0x94); // memo 1
        p.str("collections").str("OrderedDict").op(0x93).op(0x94).op(')').op('R').op(0x94); // OrderedDict()
        p.op('(');
        // "t": storage 0 = floats [0,1,2,3,4,5]; view size (3,2) stride (1,3) = transpose of a 2x3
        p.str("t");
        p.op('c').raw("torch._utils\n_rebuild_tensor_v2\n".getBytes(StandardCharsets.US_ASCII)).op(0x94); // memo 4 (memo 2, 3: the OrderedDict global and instance)
        p.op('(');
        p.storage("FloatStorage", "0", 6).op(0x94); // memo 5
        p.int1(0).int1(3).int1(2).op(0x86).int1(1).int1(3).op(0x86).op(0x89);
        p.str("collections").str("OrderedDict").op(0x93).op(')').op('R');
        p.op('t').op('R');
        // "off": the same storage (memo 4) with offset 2, size (2,), stride (2,), wrapped as a Parameter (memo 5)
        p.str("off");
        p.op('c').raw("torch._utils\n_rebuild_parameter\n".getBytes(StandardCharsets.US_ASCII));
        p.op('h').op(4).op('(').op('h').op(5).int1(2).int1(2).op(0x85).int1(2).op(0x85).op(0x89).op('N').op('t').op('R');
        p.op(0x88).op('}').op(0x87).op('R');
        // "bf": BFloat16Storage [1.0, -5.0, 0.15625]
        p.str("bf").op('h').op(4).op('(').storage("BFloat16Storage", "1", 3);
        p.int1(0).int1(3).op(0x85).int1(1).op(0x85).op(0x89).op('}').op('t').op('R');
        p.op('u');
        // state_dict()._metadata arrives through BUILD on the OrderedDict; it must be ignored
        p.op('}').str("_metadata").op('}').op('s').op('b');
        p.str("step").op(0x8a).op(6).raw(new byte[] {0, 0, 0, 0, 0, 1}); // LONG1 2^40
        p.str("lr").op('G').raw(ByteBuffer.allocate(8).putDouble(0.001).array()); // big-endian double
        p.str("opt").str("builtins").str("set").op(0x93).op(']').op('K').op(1).op('a').op(0x85).op('R').op('}').str("lr").op('K').op(1).op('s').op('b');
        p.str("names").op(']').op('(').str("a").str("b").op('e');
        p.str("again").op('h').op(1);
        p.str("none").op('N');
        p.op('u').op('.');

        byte[] floats = le(24).putFloat(0).putFloat(1).putFloat(2).putFloat(3).putFloat(4).putFloat(5).array();
        byte[] bf16 = le(6).putShort((short) 0x3F80).putShort((short) 0xC0A0).putShort((short) 0x3E20).array();
        Path file = tmp.resolve("synthetic.pt");
        writeZip(file, Map.of("synthetic/data.pkl", p.bytes(), "synthetic/data/0", floats, "synthetic/data/1", bf16,
                "synthetic/byteorder", "little".getBytes(StandardCharsets.US_ASCII)));

        Map<String, Object> top = TorchCheckpointReader.readTopLevel(file);
        assertEquals(List.of("weights", "step", "lr", "opt", "names", "again", "none"), List.copyOf(top.keySet()));
        assertEquals(1L << 40, top.get("step"));
        assertEquals(0.001, top.get("lr"));
        assertTrue(top.get("opt").toString().contains("builtins.set"), top.get("opt").toString());
        assertEquals(List.of("a", "b"), top.get("names"));
        assertEquals("weights", top.get("again"));
        assertTrue(top.containsKey("none") && top.get("none") == null);

        Map<String, TensorData> sd = TorchCheckpointReader.readStateDict(file, "weights");
        assertEquals(List.of("t", "off", "bf"), List.copyOf(sd.keySet()));
        TensorData t = sd.get("t");
        assertArrayEquals(new long[] {3, 2}, t.shape());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.toFloatArray());
        assertArrayEquals(new float[] {2, 4}, sd.get("off").toFloatArray());
        TensorData bf = sd.get("bf");
        assertEquals(DType.BF16, bf.dtype());
        assertArrayEquals(new float[] {1f, -5f, 0.15625f}, bf.toFloatArray());

        BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpointReader.readStateDict(file, null));
        assertTrue(e.getMessage().startsWith(file + ": weights: expected a tensor, found a dict of 3 entries"),
                e.getMessage());
    }

    @Test
    void bigEndianArchivesAreSwapped() throws IOException {
        Pickle p = new Pickle();
        p.op(0x80).op(2).op('}').op('(').str("w");
        p.op('c').raw("torch._utils\n_rebuild_tensor_v2\n".getBytes(StandardCharsets.US_ASCII));
        p.op('(').storage("FloatStorage", "0", 2).int1(0).int1(2).op(0x85).int1(1).op(0x85).op(0x89).op('}').op('t').op('R');
        p.op('u').op('.');
        byte[] be = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putFloat(1f).putFloat(-2f).array();
        Path file = tmp.resolve("be.pt");
        writeZip(file, Map.of("be/data.pkl", p.bytes(), "be/data/0", be, "be/byteorder", "big".getBytes(StandardCharsets.US_ASCII)));
        TensorData w = TorchCheckpointReader.readStateDict(file, null).get("w");
        assertArrayEquals(new float[] {1f, -2f}, w.toFloatArray());
        assertInstanceOf(TensorData.class, w);
    }

    @Test
    void viewPastTheStorageIsBadInput() throws IOException {
        Pickle p = new Pickle();
        p.op(0x80).op(2).op('}').op('(').str("w");
        p.op('c').raw("torch._utils\n_rebuild_tensor_v2\n".getBytes(StandardCharsets.US_ASCII));
        p.op('(').storage("FloatStorage", "0", 2).int1(1).int1(2).op(0x85).int1(1).op(0x85).op(0x89).op('}').op('t').op('R');
        p.op('u').op('.');
        Path file = tmp.resolve("short.pt");
        writeZip(file, Map.of("a/data.pkl", p.bytes(), "a/data/0", new byte[8]));
        BadInputException e = assertThrows(BadInputException.class, () -> TorchCheckpointReader.readTopLevel(file));
        assertEquals(file + ": data/0: view reaches element 2 of a storage with 2 elements", e.getMessage());
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void writeZip(Path file, Map<String, byte[]> entries) throws IOException {
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            for (var e : new java.util.TreeMap<>(entries).entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
    }

    /** Writes pickle opcodes by hand, so the test does not depend on the reader's own understanding. */
    private static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int b) {
            out.write(b);
            return this;
        }

        Pickle raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        Pickle int1(int v) {
            return op('K').op(v);
        }

        /** SHORT_BINUNICODE. */
        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return op(0x8c).op(b.length).raw(b);
        }

        /** BINPERSID of ('storage', torch.<type>, key, 'cpu', numel). */
        Pickle storage(String type, String key, int numel) {
            op('(').str("storage").op('c').raw(("torch\n" + type + "\n").getBytes(StandardCharsets.US_ASCII));
            str(key).str("cpu").op('M').op(numel & 0xFF).op(numel >> 8).op('t');
            return op('Q');
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
