package dev.lolcats4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Packing moves storage only: same tensor objects, dtypes, shapes and values; page-aligned. */
class WeightPackerTest {

    @BeforeAll
    static void init() {
        Natives.init();
    }

    @Test
    void tensorsKeepIdentityShapeAndValues() {
        Tensor a = torch.randn(new long[] {37, 19}, Tensors.options(Tensors.F32)).to(Tensors.BF16).contiguous();
        Tensor b = torch.randn(new long[] {5, 300}, Tensors.options(Tensors.F32));
        Tensor c = torch.randn(new long[] {11}, Tensors.options(Tensors.F32));
        float[] before = Tensors.toFloats(a);
        float[] beforeB = Tensors.toFloats(b);
        float[] beforeC = Tensors.toFloats(c);
        long oldAddress = a.data_ptr().address();

        assertTrue(WeightPacker.pack(List.of(a, b, a, c))); // a twice, as a tied LM head would be

        assertEquals(Tensors.BF16.value, a.scalar_type().value);
        assertArrayEquals(new long[] {37, 19}, Tensors.shape(a));
        assertArrayEquals(new long[] {5, 300}, Tensors.shape(b));
        assertArrayEquals(before, Tensors.toFloats(a));
        assertArrayEquals(beforeB, Tensors.toFloats(b));
        assertArrayEquals(beforeC, Tensors.toFloats(c));
        assertTrue(a.is_contiguous() && b.is_contiguous() && c.is_contiguous());
        for (Tensor t : List.of(a, b, c)) {
            assertEquals(0, t.data_ptr().address() % 4096, "page-aligned");
        }
        assertTrue(a.data_ptr().address() != oldAddress);
        // In the given order, one after the other in one buffer.
        assertTrue(a.data_ptr().address() < b.data_ptr().address() && b.data_ptr().address() < c.data_ptr().address());
        // libtorch still computes with them.
        assertEquals(Tensors.toFloats(b.sum())[0], sum(beforeB), 1e-3);
    }

    @Test
    void refusesTensorsThatRecordGradients() {
        Tensor trained = torch.randn(new long[] {4, 4}, Tensors.options(Tensors.F32)).requires_grad_(true);
        long address = trained.data_ptr().address();
        assertFalse(WeightPacker.pack(List.of(trained)));
        assertEquals(address, trained.data_ptr().address());
    }

    private static float sum(float[] values) {
        double s = 0;
        for (float v : values) {
            s += v;
        }
        return (float) s;
    }
}
