package dev.lolcats4j.bench;

import dev.lolcats4j.cpu.Allocator;
import dev.lolcats4j.cpu.Capabilities;
import dev.lolcats4j.cpu.CpuInfo;
import dev.lolcats4j.cpu.DtypeDecision;
import dev.lolcats4j.cpu.DtypeRequest;
import dev.lolcats4j.cpu.DtypeRule;
import dev.lolcats4j.cpu.GemmProbe;
import dev.lolcats4j.cpu.GemmRates;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.torch.Natives;
import java.util.List;
import java.util.Locale;

/**
 * What every bench result is judged against, measured in the same run: the CPU (model, flags,
 * cores), a fresh GEMM probe per dtype (never the cached one: the load on the machine now is
 * what matters), memory read bandwidth, and the matmul dtype the rule picks from them (or the
 * one --dtype forces, with the warning line when it is slow here).
 *
 * @param cpuFlags the flags that decide the matmul paths (see {@link CpuInfo#KEY_FLAGS})
 * @param dtype "f32" or "bf16": what the model benchmarks run their matmuls in
 * @param gemm the same-run probe (GFLOP/s per dtype)
 * @param readGbps same-run memory read bandwidth (256 MiB float32 sum), GB/s
 * @param allocator the malloc serving libtorch here ({@link Allocator#inUse}): it moves training figures
 * @param softmaxPath how the benchmarked models' softmax attention runs a prompt
 *     ({@link dev.lolcats4j.cpu.SoftmaxPath}, lower case): always {@code f32_sdpa} with float32
 *     matmuls, else what the machine's probe chose
 */
public record BenchContext(String cpuModel, String architecture, int cores, List<String> cpuFlags, int threads,
        String libtorch, String dtype, String dtypeReason, String dtypeWarning, GemmRates gemm, double readGbps, String allocator,
        String softmaxPath) {

    private record Cached(DtypeRequest requested, BenchContext context) {}

    private static Cached current;

    /** Measures once per process for the dtype request (about 1.5 s). */
    public static synchronized BenchContext of(DtypeRequest request) {
        if (current == null || current.requested() != request) {
            current = new Cached(request, measure(request));
        }
        return current.context();
    }

    private static BenchContext measure(DtypeRequest request) {
        Natives.init();
        CpuInfo cpu = Capabilities.cpu();
        GemmRates rates = GemmProbe.measure();
        DtypeDecision decision = DtypeRule.decide(request, cpu, () -> rates);
        if (decision.warning() != null) {
            System.err.println(decision.warning());
        }
        double read = MatmulBench.bandwidth(256L << 20, new Options(1, 3, true, 0)).readGbps();
        BenchContext context = new BenchContext(cpu.modelName(), cpu.architecture(), cpu.cores(),
                List.of(cpu.keyFlags().isEmpty() ? new String[0] : cpu.keyFlags().split(" ")), Natives.threads(),
                Capabilities.libtorchVersion(), decision.dtypeName(), decision.reason(), decision.warning(), rates, read, Allocator.inUse(),
                Capabilities.softmaxPath(decision.type() == ComputeType.BF16).name().toLowerCase(Locale.ROOT));
        Timing.progress("bench: %s; %s; %s; read %.1f GB/s; %s; softmax attention %s", cpu.summary(), rates.summary(), decision.reason(),
                read, context.allocator(), context.softmaxPath());
        return context;
    }

    public ComputeType computeType() {
        return "bf16".equals(dtype) ? ComputeType.BF16 : ComputeType.F32;
    }

    /** The chosen dtype's GEMM rate in this run's probe, GFLOP/s. */
    public double chosenGemmGflops() {
        return "bf16".equals(dtype) ? gemm.bf16Gflops() : gemm.f32Gflops();
    }

    String describe() {
        return String.format(Locale.ROOT, "%s, %s", cpuModel, dtype);
    }
}
