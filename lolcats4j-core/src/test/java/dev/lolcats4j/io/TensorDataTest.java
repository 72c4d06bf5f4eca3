package dev.lolcats4j.io;

import dev.lolcats4j.BadInputException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorDataTest {

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void dtypeSizesAndNames() {
        assertEquals(2, DType.BF16.byteSize());
        assertEquals(8, DType.I64.byteSize());
        assertEquals(1, DType.BOOL.byteSize());
        assertEquals(DType.BF16, DType.fromSafetensors("BF16", Path.of("f"), "x.dtype"));
        assertEquals("F16", DType.F16.safetensorsName());
        BadInputException e = assertThrows(BadInputException.class,
                () -> DType.fromSafetensors("F8_E4M3", Path.of("/m/a.safetensors"), "w.dtype"));
        assertTrue(e.getMessage().startsWith("/m/a.safetensors: w.dtype: expected a dtype in ["), e.getMessage());
        assertTrue(e.getMessage().endsWith("found \"F8_E4M3\""), e.getMessage());
    }

    @Test
    void decodesHalfAndBfloatBitPatterns() {
        // IEEE half: 0x3C00 = 1.0, 0xC000 = -2.0, 0x3555 ~ 0.33325, 0x7C00 = +inf
        ByteBuffer f16 = le(8).putShort((short) 0x3C00).putShort((short) 0xC000)
                .putShort((short) 0x3555).putShort((short) 0x7C00).flip();
        float[] h = new TensorData(DType.F16, new long[] {4}, f16).toFloatArray();
        assertArrayEquals(new float[] {1f, -2f, 0.333251953125f, Float.POSITIVE_INFINITY}, h);
        // bfloat16 is the top half of a float: 0x3F80 = 1.0, 0xC0A0 = -5.0, 0x3E20 = 0.15625
        ByteBuffer bf = le(6).putShort((short) 0x3F80).putShort((short) 0xC0A0).putShort((short) 0x3E20).flip();
        assertArrayEquals(new float[] {1f, -5f, 0.15625f}, new TensorData(DType.BF16, new long[] {3}, bf).toFloatArray());
        ByteBuffer f64 = le(8).putDouble(0.5).flip();
        assertArrayEquals(new float[] {0.5f}, new TensorData(DType.F64, new long[] {}, f64).toFloatArray());
    }

    @Test
    void ofFloatsRoundsToNearestEvenForBf16() {
        // 1 + 2^-8 is exactly half way between bf16 1.0 (0x3F80) and 1.0078125 (0x3F81): ties to even -> 0x3F80
        // 1 + 3*2^-8 is half way between 0x3F81 and 0x3F82: ties to even -> 0x3F82
        // 1 + 2^-8 + 2^-20 is just above half way -> 0x3F81
        TensorData t = TensorData.ofFloats(DType.BF16, new long[] {3},
                new float[] {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, 1f + 0x1p-8f + 0x1p-20f});
        ByteBuffer b = t.data();
        assertEquals((short) 0x3F80, b.getShort());
        assertEquals((short) 0x3F82, b.getShort());
        assertEquals((short) 0x3F81, b.getShort());
    }

    @Test
    void f32LayoutIsLittleEndian() {
        TensorData t = TensorData.ofFloats(new long[] {2, 1}, new float[] {1f, -2f});
        ByteBuffer b = t.data();
        assertEquals(8, b.remaining());
        // 1.0f = 0x3F800000 stored as 00 00 80 3F
        assertEquals(0x00, b.get(0));
        assertEquals((byte) 0x80, b.get(2));
        assertEquals(0x3F, b.get(3));
        assertEquals(2, t.numel());
        assertArrayEquals(new long[] {2, 1}, t.shape());
    }

    @Test
    void rejectsByteLengthMismatch() {
        assertThrows(IllegalArgumentException.class,
                () -> new TensorData(DType.F32, new long[] {2, 3}, le(20)));
        assertThrows(IllegalArgumentException.class,
                () -> new TensorData(DType.F32, new long[] {-1}, le(0)));
    }

    @Test
    void equalityIsByValue() {
        TensorData a = TensorData.ofFloats(new long[] {2}, new float[] {1f, 2f});
        TensorData b = TensorData.ofFloats(new long[] {2}, new float[] {1f, 2f});
        TensorData c = TensorData.ofFloats(new long[] {1, 2}, new float[] {1f, 2f});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertTrue(!a.equals(c));
    }
}
