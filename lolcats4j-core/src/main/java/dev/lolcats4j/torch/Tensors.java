package dev.lolcats4j.torch;

import dev.lolcats4j.io.DType;
import dev.lolcats4j.io.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.LongArrayRef;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Thin helpers where the generated libtorch API is clumsy: creation, copies to Java, scalars. */
public final class Tensors {

    public static final ScalarType F32 = ScalarType.Float;
    public static final ScalarType F64 = ScalarType.Double;
    public static final ScalarType BF16 = ScalarType.BFloat16;
    public static final ScalarType I64 = ScalarType.Long;
    public static final ScalarType U8 = ScalarType.Byte;

    private Tensors() {}

    /**
     * Detaches a tensor from the innermost {@link org.bytedeco.javacpp.PointerScope}, so that a
     * long-lived value (a cache, a state, a parameter) created inside a per-step scope survives
     * the scope's close; it is then freed when it becomes unreachable.
     */
    public static Tensor keep(Tensor t) {
        org.bytedeco.javacpp.PointerScope scope = org.bytedeco.javacpp.PointerScope.getInnerScope();
        if (scope != null) {
            // attach() took a reference and detach() gives it back (freeing at zero), so take
            // one of our own first; the garbage collector's deallocator frees it later.
            t.retainReference();
            scope.detach(t);
        }
        return t;
    }

    /**
     * Lets {@code t} outlive the innermost scope about to close by handing it to {@code outer}
     * (the scope that was innermost before; null = none, then the garbage collector frees it).
     * Used to free each layer's temporaries as soon as the layer is done.
     */
    public static Tensor handOver(Tensor t, org.bytedeco.javacpp.PointerScope outer) {
        if (outer != null) {
            outer.attach(t);
        } else {
            t.retainReference();
        }
        return t;
    }

    /** True when two libtorch scalar types are the same (by value, not identity). */
    public static boolean same(ScalarType a, ScalarType b) {
        return a.value == b.value;
    }

    public static TensorOptions options(ScalarType type) {
        return new TensorOptions(type);
    }

    public static Scalar scalar(double value) {
        return new Scalar(value);
    }

    /** Uninitialised memory: nothing is touched until written (for buffers filled right away). */
    public static Tensor empty(ScalarType type, long... shape) {
        return torch.empty(shape, options(type), new org.bytedeco.pytorch.MemoryFormatOptional());
    }

    public static Tensor zeros(ScalarType type, long... shape) {
        return torch.zeros(shape, options(type));
    }

    public static Tensor ones(ScalarType type, long... shape) {
        return torch.ones(shape, options(type));
    }

    public static Tensor full(ScalarType type, double value, long... shape) {
        return torch.full(shape, scalar(value), options(type));
    }

    /** [0, 1, ..., n-1] as int64. */
    public static Tensor arange(long n) {
        return torch.arange(scalar(n), options(I64));
    }

    public static Tensor ofFloats(float[] values, long... shape) {
        Tensor t = empty(F32, shape);
        if (t.numel() != values.length) {
            throw new IllegalArgumentException(values.length + " values for shape " + java.util.Arrays.toString(shape));
        }
        t.data_ptr_float().put(values);
        return t;
    }

    public static Tensor ofDoubles(double[] values, long... shape) {
        org.bytedeco.javacpp.DoublePointer p = new org.bytedeco.javacpp.DoublePointer(values);
        try {
            return torch.from_blob(p, shape, options(F64)).clone();
        } finally {
            p.deallocate();
        }
    }

    public static Tensor ofLongs(long[] values, long... shape) {
        LongPointer p = new LongPointer(values);
        try {
            return torch.from_blob(p, shape, options(I64)).clone();
        } finally {
            p.deallocate();
        }
    }

    public static Tensor ofInts(int[] ids, long... shape) {
        long[] values = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            values[i] = ids[i];
        }
        return ofLongs(values, shape);
    }

    /** All elements as float, in row-major order (converts any floating type). */
    public static float[] toFloats(Tensor t) {
        Tensor c = t.detach().to(F32).contiguous();
        float[] out = new float[(int) c.numel()];
        c.data_ptr_float().get(out);
        return out;
    }

    public static double[] toDoubles(Tensor t) {
        Tensor c = t.detach().to(F64).contiguous();
        double[] out = new double[(int) c.numel()];
        new org.bytedeco.javacpp.DoublePointer(c.data_ptr()).get(out);
        return out;
    }

    public static long[] toLongs(Tensor t) {
        Tensor c = t.detach().to(I64).contiguous();
        long[] out = new long[(int) c.numel()];
        new LongPointer(c.data_ptr()).get(out);
        return out;
    }

    public static long[] shape(Tensor t) {
        LongArrayRef ref = t.sizes();
        long[] out = new long[(int) ref.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ref.get(i);
        }
        return out;
    }

    public static Tensor cat(long dim, Tensor... parts) {
        return torch.cat(new TensorVector(parts), dim);
    }

    /** Softmax in fp32 whatever the input type. */
    public static Tensor softmaxF32(Tensor t, long dim) {
        return t.softmax(dim, new ScalarTypeOptional(F32));
    }

    public static ScalarType scalarType(DType dtype) {
        return switch (dtype) {
            case F32 -> F32;
            case F64 -> F64;
            case F16 -> ScalarType.Half;
            case BF16 -> BF16;
            case I64 -> I64;
            case I32 -> ScalarType.Int;
            case I16 -> ScalarType.Short;
            case I8 -> ScalarType.Char;
            case U8 -> ScalarType.Byte;
            case BOOL -> ScalarType.Bool;
        };
    }

    public static DType dtype(ScalarType type) {
        // Compare by value: scalar_type() may hand back an enum constant that is not == ours.
        return switch (type.value) {
            case 6 -> DType.F32;
            case 15 -> DType.BF16;
            case 5 -> DType.F16;
            case 7 -> DType.F64;
            case 4 -> DType.I64;
            default -> throw new IllegalArgumentException("no safetensors dtype for " + type);
        };
    }

    /** Copies stored bytes into a new libtorch tensor of the stored dtype. */
    /**
     * Returns {@code t} if every value is finite, else throws naming the tensor and its file: a
     * NaN or an infinity in loaded weights would otherwise give NaN scores with exit code 0.
     * One {@code isfinite().all()} reduction, so the check costs a pass over the tensor.
     */
    public static Tensor requireFinite(Tensor t, java.nio.file.Path file, String name) {
        boolean finite;
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            finite = torch.isfinite(t).all().item_bool();
        }
        if (!finite) {
            throw dev.lolcats4j.BadInputException.at(file, name, "holds NaN or infinite values; the file is damaged or training diverged");
        }
        return t;
    }

    /**
     * A tensor over the data's own bytes, no copy: valid only while the data's buffer lives
     * (copy_ it into a tensor of your own before the weight file closes).
     */
    public static Tensor viewOf(TensorData data) {
        ByteBuffer buffer = data.data();
        ByteBuffer direct = buffer.isDirect() ? buffer : ByteBuffer.allocateDirect(buffer.remaining()).put(buffer.duplicate()).flip();
        BytePointer pointer = new BytePointer(direct.slice().order(ByteOrder.LITTLE_ENDIAN));
        return torch.from_blob(pointer, data.shape(), options(scalarType(data.dtype())));
    }

    /** A tensor holding its own copy of the data. */
    public static Tensor fromData(TensorData data) {
        return viewOf(data).clone();
    }

    /** Copies a tensor's values out into a heap buffer for writing (contiguous, little-endian). */
    public static TensorData toData(Tensor t) {
        Tensor c = t.detach().contiguous();
        long bytes = c.nbytes();
        byte[] raw = new byte[Math.toIntExact(bytes)];
        new BytePointer(c.data_ptr()).capacity(bytes).get(raw);
        return new TensorData(dtype(c.scalar_type()), shape(c), ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN));
    }
}
