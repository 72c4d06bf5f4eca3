package dev.lolcats4j.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense, row-major tensor held as raw little-endian bytes, independent of any tensor library.
 *
 * @param dtype element type
 * @param shape dimensions, outermost first (an empty array is a scalar)
 * @param data  the elements: a little-endian buffer positioned at 0 whose limit is the byte
 *              length (direct and read-only when memory-mapped from a file)
 */
public record TensorData(DType dtype, long[] shape, ByteBuffer data) {

    /** Checks that the byte length matches {@code numel * dtype.byteSize()}. */
    public TensorData {
        if (dtype == null || shape == null || data == null) {
            throw new IllegalArgumentException("dtype, shape and data must not be null");
        }
        shape = shape.clone();
        long n = numel(shape);
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (Math.multiplyExact(n, (long) dtype.byteSize()) != data.remaining()) {
            throw new IllegalArgumentException("tensor " + dtype + Arrays.toString(shape) + " needs "
                    + n * dtype.byteSize() + " bytes, buffer has " + data.remaining());
        }
    }

    /** A copy of the dimensions. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** A fresh view of the bytes (little-endian, position 0), independent of other callers. */
    @Override
    public ByteBuffer data() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Number of elements (1 for a scalar). */
    public long numel() {
        return numel(shape);
    }

    /** Number of bytes of data. */
    public long byteSize() {
        return data.remaining();
    }

    /** An F32 tensor holding a copy of {@code values}. */
    public static TensorData ofFloats(long[] shape, float[] values) {
        return ofFloats(DType.F32, shape, values);
    }

    /**
     * A tensor of the given floating-point type holding {@code values}, rounded to nearest-even
     * when the type is F16 or BF16.
     */
    public static TensorData ofFloats(DType dtype, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, dtype.byteSize()))
                .order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F32 -> b.putFloat(v);
                case F64 -> b.putDouble(v);
                case F16 -> b.putShort(Float.floatToFloat16(v));
                case BF16 -> b.putShort(floatToBf16(v));
                default -> throw new IllegalArgumentException("not a floating-point type: " + dtype);
            }
        }
        return new TensorData(dtype, shape, b.flip());
    }

    /**
     * The elements converted to float (exact for F16/BF16, rounded for F64). Meant for tests and
     * small tensors.
     *
     * @throws IllegalStateException if the type is not floating point or the tensor is too large
     */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor too large for a float[]: " + n + " elements");
        }
        float[] out = new float[(int) n];
        ByteBuffer b = data();
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (dtype) {
                case F32 -> b.getFloat();
                case F64 -> (float) b.getDouble();
                case F16 -> Float.float16ToFloat(b.getShort());
                case BF16 -> Float.intBitsToFloat((b.getShort() & 0xFFFF) << 16);
                default -> throw new IllegalStateException("not a floating-point tensor: " + dtype);
            };
        }
        return out;
    }

    /** Value equality: same dtype, shape and bytes. */
    @Override
    public boolean equals(Object o) {
        return o instanceof TensorData t && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && data.equals(t.data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + data.hashCode();
    }

    @Override
    public String toString() {
        return "TensorData[" + dtype + " " + Arrays.toString(shape) + "]";
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Round-to-nearest-even float to bfloat16 bits; NaN stays NaN. */
    static short floatToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
