package dev.lolcats4j.cpu;

import dev.lolcats4j.torch.Natives;
import java.util.Optional;

/**
 * This process's view of the machine: the CPU (read once) and the GEMM rates (probed once per
 * machine, then read from {@link ProbeCache}), and the dtype decisions made from them.
 */
public final class Capabilities {

    private static volatile CpuInfo cpu;
    private static volatile GemmRates rates;
    private static volatile boolean ratesFromCache;

    private Capabilities() {}

    public static CpuInfo cpu() {
        if (cpu == null) {
            cpu = CpuInfo.current();
        }
        return cpu;
    }

    /** The libtorch version of the JavaCPP presets on the class path (e.g. 2.10.0-1.5.13). */
    public static String libtorchVersion() {
        String v = org.bytedeco.pytorch.Tensor.class.getPackage().getImplementationVersion();
        return v == null ? "unknown" : v;
    }

    /** The cached rates of this machine, probing (about one second) when there are none. */
    public static synchronized GemmRates rates() {
        if (rates == null) {
            rates = load(false);
        }
        return rates;
    }

    /** True if {@link #rates()} came from the cache file rather than a probe in this process. */
    public static boolean ratesFromCache() {
        return ratesFromCache;
    }

    /** Probes again and replaces the cached entry. */
    public static synchronized GemmRates reprobe() {
        rates = load(true);
        return rates;
    }

    private static GemmRates load(boolean fresh) {
        Natives.init();
        String key = ProbeCache.key(cpu(), libtorchVersion(), Natives.threads());
        Optional<ProbeCache> cache = ProbeCache.standard();
        if (!fresh && cache.isPresent()) {
            Optional<GemmRates> cached = cache.get().get(key);
            if (cached.isPresent() && DtypeRule.conclusive(cpu(), cached.get())) {
                ratesFromCache = true;
                return cached.get();
            }
        }
        GemmRates measured = GemmProbe.measure();
        ratesFromCache = false;
        if (DtypeRule.conclusive(cpu(), measured)) {
            cache.ifPresent(c -> c.put(key, measured));
        }
        // Else not kept: native bf16 measured slower (or only at small sizes) is more likely a
        // probe disturbed by other processes than the truth; the next run measures again.
        return measured;
    }

    /** The conclusive rates in the cache for this machine, without probing or loading libtorch; empty if none. */
    public static Optional<GemmRates> cachedRates() {
        if (rates != null) {
            return Optional.of(rates);
        }
        String key = ProbeCache.key(cpu(), libtorchVersion(), Natives.threads());
        return ProbeCache.standard().flatMap(c -> c.get(key)).filter(r -> DtypeRule.conclusive(cpu(), r));
    }

    /** The dtype for a request on this machine (probing only when the rule needs rates). */
    public static DtypeDecision decide(DtypeRequest request) {
        return DtypeRule.decide(request, cpu(), Capabilities::rates);
    }

    /**
     * How a model runs its softmax attention on this machine: float32 with float32 matmuls, else
     * the path {@link DtypeRule#softmaxPath} picks; probes only for bf16 matmuls on CPUs with
     * native bf16.
     */
    public static SoftmaxPath softmaxPath(boolean bf16Matmuls) {
        return bf16Matmuls && cpu().nativeBf16() ? DtypeRule.softmaxPath(cpu(), rates()) : SoftmaxPath.F32_SDPA;
    }

    /** Where the probe cache lives, if anywhere. */
    public static Optional<java.nio.file.Path> cacheFile() {
        return ProbeCache.standard().map(ProbeCache::file);
    }
}
