package dev.lolcats4j.bench.jmh;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** libtorch GEMM C = A B, square n; GFLOP/s = 2 n^3 / time. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {

    @Param({"bf16", "f32"})
    public String dtype;

    @Param({"2048"})
    public int n;

    private Tensor a;
    private Tensor b;

    @Setup
    public void setup() {
        Natives.init();
        var type = dtype.equals("bf16") ? Tensors.BF16 : Tensors.F32;
        a = torch.randn(new long[] {n, n}, Tensors.options(Tensors.F32)).to(type);
        b = torch.randn(new long[] {n, n}, Tensors.options(Tensors.F32)).to(type);
    }

    @Benchmark
    public void mm() {
        try (PointerScope scope = new PointerScope()) {
            torch.mm(a, b);
        }
    }
}
