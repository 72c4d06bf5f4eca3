package dev.lolcats4j.cli;

import dev.lolcats4j.bench.BenchMain;
import dev.lolcats4j.cpu.Capabilities;
import dev.lolcats4j.cpu.CpuInfo;
import dev.lolcats4j.cpu.DtypeDecision;
import dev.lolcats4j.cpu.DtypeRequest;
import dev.lolcats4j.cpu.DtypeRule;
import dev.lolcats4j.cpu.GemmRates;
import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.torch.Natives;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lolcats info} (alias {@code doctor}): what this machine offers and what lolcats4j
 * chooses from it: the CPU's model and flags, libtorch's measured GEMM rates (probed once per
 * machine in about a second, then cached), the matmul dtype {@code --dtype auto} picks and why,
 * and whether the decode kernels are available.
 */
@Command(name = "info", aliases = "doctor", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"This machine's CPU (model, flags, cores), the measured f32/bf16 GEMM rates (a ~1 s probe, "
                + "cached per machine in .cache/cpu-probe.json), the dtype '--dtype auto' picks, and the decode path."})
public final class InfoCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Option(names = "--reprobe", description = "Measure the GEMM rates again and replace the cached ones.")
    boolean reprobe;

    /** The JSON of {@code info --json}. */
    public record Info(String cpuModel, String architecture, int cores, List<String> keyFlags, boolean nativeBf16,
            String libtorch, int threads, GemmRates gemm, boolean gemmCached, String probeCache, String autoDtype,
            String autoReason, double minBf16Speedup, boolean decodeKernels, String decodeKernelsNote, String allocator,
            String softmaxPath) {}

    @Override
    public Integer call() {
        Natives.init();
        CpuInfo cpu = Capabilities.cpu();
        GemmRates rates = reprobe ? Capabilities.reprobe() : Capabilities.rates();
        DtypeDecision auto = Capabilities.decide(DtypeRequest.AUTO);
        boolean kernels = VectorKernels.enabled();
        dev.lolcats4j.cpu.SoftmaxPath softmaxPath = DtypeRule.softmaxPath(cpu, rates);
        Info info = new Info(cpu.modelName(), cpu.architecture(), cpu.cores(),
                List.of(cpu.keyFlags().isEmpty() ? new String[0] : cpu.keyFlags().split(" ")), cpu.nativeBf16(),
                Capabilities.libtorchVersion(), Natives.threads(), rates, Capabilities.ratesFromCache(),
                Capabilities.cacheFile().map(Object::toString).orElse(null), auto.dtypeName(), auto.reason(),
                DtypeRule.MIN_BF16_SPEEDUP, kernels,
                kernels ? "Java Vector API kernels read bf16/f32 weights in place" : VectorKernels.unavailableReason(),
                dev.lolcats4j.cpu.Allocator.inUse(), softmaxPath.name().toLowerCase(java.util.Locale.ROOT));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(BenchMain.toJson(info));
        } else {
            Map<String, String> lines = new LinkedHashMap<>();
            lines.put("cpu", cpu.modelName());
            lines.put("architecture", String.format(Locale.ROOT, "%s, %d cores; libtorch %s, %d threads", cpu.architecture(),
                    cpu.cores(), info.libtorch(), info.threads()));
            lines.put("flags", cpu.keyFlags().isEmpty() ? "(none of " + String.join(", ", CpuInfo.KEY_FLAGS) + ")" : cpu.keyFlags());
            lines.put("native bf16", cpu.nativeBf16() ? "yes" : "no");
            lines.put("gemm", rates.summary() + (info.gemmCached() ? " (cached" : " (measured now in "
                    + String.format(Locale.ROOT, "%.1f s", rates.seconds())) + (info.probeCache() == null ? ")" : "; " + info.probeCache() + ")"));
            lines.put("attention", rates.sdpaSummary() + "; a bf16 model's softmax attention runs in "
                    + softmaxPath.description());
            lines.put("--dtype auto", auto.reason());
            lines.put("decode", kernels ? "Java Vector API kernels (bf16/f32 weights read in place)" : "libtorch (" + info.decodeKernelsNote() + ")");
            lines.put("allocator", info.allocator());
            lines.forEach((k, v) -> out.printf(Locale.ROOT, "%-13s %s%n", k + ":", v));
        }
        out.flush();
        return Main.EXIT_OK;
    }
}
