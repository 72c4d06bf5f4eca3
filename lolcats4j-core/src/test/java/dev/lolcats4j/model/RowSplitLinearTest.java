package dev.lolcats4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RowSplitLinearTest {

    @BeforeAll
    static void natives() {
        Natives.init();
    }

    /** x W^T + b in float64, the reference. */
    private static Tensor reference(Tensor x, Tensor w, Tensor b) {
        return torch.linear(x.to(Tensors.F64), w.to(Tensors.F64), new TensorOptional(b.to(Tensors.F64)));
    }

    @Test
    void everySplitMatchesTheFloat64Product() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(7);
            // 3-D input with an odd number of rows (2 x 37), so the parts are uneven.
            Tensor x = torch.randn(new long[] {2, 37, 48}, Tensors.options(Tensors.F32));
            Tensor w = torch.randn(new long[] {29, 48}, Tensors.options(Tensors.F32));
            Tensor b = torch.randn(new long[] {29}, Tensors.options(Tensors.F32));
            Tensor expected = reference(x, w, b);
            for (int parts : new int[] {1, 2, 3, 5, 74, 1000}) {
                Tensor y = RowSplitLinear.apply(x, w, b, parts);
                assertEquals(3, y.dim());
                assertEquals(2, y.size(0));
                assertEquals(37, y.size(1));
                assertEquals(29, y.size(2));
                double error = y.to(Tensors.F64).sub(expected).abs().max().item_double();
                assertTrue(error < 1e-4, parts + " parts: max error " + error);
            }
            // Trainable weights evaluated under no-grad (pretraining's held-out loss): the worker threads' products too.
            w.requires_grad_(true);
            double trainable = RowSplitLinear.apply(x, w, b, 2).to(Tensors.F64).sub(expected).abs().max().item_double();
            assertTrue(trainable < 1e-4, "trainable weight: max error " + trainable);
            w.requires_grad_(false);
            Tensor noBias = RowSplitLinear.apply(x, w, null, 2).to(Tensors.F64);
            double error = noBias.sub(torch.linear(x.to(Tensors.F64), w.to(Tensors.F64))).abs().max().item_double();
            assertTrue(error < 1e-4, "without bias: max error " + error);
        }
    }

    @Test
    void onlyLargeFloat32ProductsWithoutAutogradAreSplit() {
        try (PointerScope scope = new PointerScope()) {
            Tensor big = Tensors.zeros(Tensors.F32, 1024, 2048);
            Tensor bigWeight = Tensors.zeros(Tensors.F32, 1024, 2048);   // 2 x 1024 x 2048 x 1024 = 4.3 GFLOP
            Tensor small = Tensors.zeros(Tensors.F32, 16, 2048);
            try (NoGradGuard noGrad = new NoGradGuard()) {
                // The suite runs with OMP_NUM_THREADS=2 and OPENBLAS_NUM_THREADS=1 (pom.xml), as the launcher does.
                assertTrue(RowSplitLinear.applies(big, bigWeight));
                assertFalse(RowSplitLinear.applies(small, bigWeight), "below the FLOP bound");
                assertFalse(RowSplitLinear.applies(big.to(Tensors.BF16), bigWeight.to(Tensors.BF16)), "bf16 runs on oneDNN's threads");
            }
            assertFalse(RowSplitLinear.applies(big, bigWeight), "under autograd");
        }
    }
}
