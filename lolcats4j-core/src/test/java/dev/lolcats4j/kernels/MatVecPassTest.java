package dev.lolcats4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The Vector API matrix-vector kernels against a float64 recomputation from the same bits. */
class MatVecPassTest {

    @BeforeAll
    static void init() {
        Natives.init();
        // The build runs tests with --add-modules jdk.incubator.vector on JDK 25: the kernels must be live.
        assertNull(VectorKernels.unavailableReason());
    }

    @ParameterizedTest(name = "{0} x {1}, batch {2}, bf16 {3}")
    @CsvSource({
        "1, 1, 1, true", "3, 5, 1, true", "7, 17, 1, true", "13, 33, 2, true", "64, 64, 1, true",
        "520, 700, 1, true", "521, 703, 3, true", "2048, 768, 1, true",
        "37, 70, 4, true", "521, 703, 9, true", "64, 768, 16, true",
        "3, 5, 1, false", "13, 33, 2, false", "520, 700, 1, false", "521, 703, 3, false"})
    void matchesFloat64(int rows, int cols, int batch, boolean bf16) {
        Random random = new Random(rows * 31L + cols);
        float[] w = gaussians(random, rows * cols);
        float[] x = gaussians(random, batch * cols);
        Tensor weight = Tensors.ofFloats(w, rows, cols);
        if (bf16) {
            weight = weight.to(Tensors.BF16).contiguous();
        }
        MatrixView view = MatrixView.of(weight);
        float[] stored = Tensors.toFloats(weight); // libtorch's own widening of the stored values
        float[] y = new float[batch * rows];
        MatVecPass.multiply(view, x, batch, y);
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double expected = 0;
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    double term = (double) stored[r * cols + c] * x[b * cols + c];
                    expected += term;
                    magnitude += Math.abs(term);
                }
                assertEquals(expected, y[b * rows + r], 1e-5 * magnitude + 1e-6, "row " + r + " vector " + b);
            }
        }
    }

    @Test
    void bf16ViewReadsTheStoredBits() {
        // 1.5 and -2.25 are exact in bf16: 0x3FC0 and 0xC010.
        MatrixView view = MatrixView.of(Tensors.ofFloats(new float[] {1.5f, -2.25f}, 1, 2).to(Tensors.BF16).contiguous());
        assertEquals(1.5f, view.get(0));
        assertEquals(-2.25f, view.get(1));
    }

    @Test
    void severalProductsInOnePass() {
        Random random = new Random(7);
        int cols = 300;
        float[] x = gaussians(random, cols);
        MatrixView a = MatrixView.of(Tensors.ofFloats(gaussians(random, 400 * cols), 400, cols).to(Tensors.BF16).contiguous());
        MatrixView b = MatrixView.of(Tensors.ofFloats(gaussians(random, 123 * cols), 123, cols).to(Tensors.BF16).contiguous());
        float[] ya = new float[400];
        float[] yb = new float[123];
        new MatVecPass().add(a, x, ya).add(b, x, yb).run();
        float[] alone = new float[123];
        MatVecPass.multiply(b, x, 1, alone);
        for (int r = 0; r < 123; r++) {
            assertEquals(alone[r], yb[r], 1e-4f * (1 + Math.abs(alone[r])));
        }
        float[] aloneA = new float[400];
        MatVecPass.multiply(a, x, 1, aloneA);
        for (int r = 0; r < 400; r++) {
            assertEquals(aloneA[r], ya[r], 1e-4f * (1 + Math.abs(aloneA[r])));
        }
    }

    @Test
    void everyRowRunsExactlyOnceAndFailuresReachTheCaller() {
        ParallelRows rows = new ParallelRows(3);
        for (int round = 0; round < 300; round++) {
            int n = 24 + round * 7 % 977;
            int chunk = 1 + round % 50;
            AtomicIntegerArray seen = new AtomicIntegerArray(n);
            rows.run(n, chunk, (from, to) -> {
                for (int i = from; i < to; i++) {
                    seen.incrementAndGet(i);
                }
            });
            for (int i = 0; i < n; i++) {
                assertEquals(1, seen.get(i), "round " + round + " row " + i);
            }
        }
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, () -> rows.run(1000, 10, (from, to) -> {
            if (from >= 500) {
                throw new IllegalArgumentException("worker failed");
            }
        }));
        assertEquals("worker failed", thrown.getMessage());
        // Still usable after a failure, also after its workers parked.
        AtomicIntegerArray seen = new AtomicIntegerArray(100);
        sleep(5);
        rows.run(100, 3, (from, to) -> {
            for (int i = from; i < to; i++) {
                seen.incrementAndGet(i);
            }
        });
        for (int i = 0; i < 100; i++) {
            assertEquals(1, seen.get(i));
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static float[] gaussians(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}
