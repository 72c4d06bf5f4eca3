package dev.lolcats4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.model.ComputeType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dtype rule on recorded /proc/cpuinfo files (src/test/resources/cpuinfo) and recorded
 * probe results: the AMX Xeon this project is developed on, the AVX2-only AMD EPYC of issue 13
 * (libtorch bf16 GEMM 1.3 GFLOP/s against 91 in float32), an AVX512-BF16 CPU without AMX, and
 * ARM Graviton 2 (no BF16) and 3 (BF16).
 */
class DtypeRuleTest {

    /**
     * Measured on the AMX Xeon (bench matmul, 2 threads, idle): bf16 ~1200, f32 ~190 GFLOP/s at 2048^3.
     * Its SDPA times are scaled from the one recorded there (one layer at 1024 tokens: 35 ms in
     * f32, 6-11 ms in bf16); the rule only compares the two.
     */
    // The query-chunk time (12 ms) was not measured on that machine: a stand-in slower than its fused bf16 kernel.
    static final GemmRates XEON_AMX = GemmRates.of(190, 1200, 2048).withSdpa(new GemmRates.SdpaTimes(35, 8, 12));
    /** Issue 13, AVX2-only EPYC 7B12, 2 cores: bf16 matmul 1.3 GFLOP/s, float32 91 at 2048^3. */
    static final GemmRates EPYC_AVX2 = GemmRates.of(91, 1.3, 2048);

    static CpuInfo cpu(String file, String arch) {
        try {
            return CpuInfo.parse(Files.readString(Path.of(DtypeRuleTest.class.getResource("/cpuinfo/" + file).toURI())), arch, 2);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A probe that must not run. */
    static Supplier<GemmRates> noProbe() {
        return () -> {
            throw new AssertionError("the probe ran although the flags alone decide");
        };
    }

    @Test
    void parsesTheRecordedCpus() {
        CpuInfo xeon = cpu("xeon-amx.txt", "amd64");
        assertEquals("Intel(R) Xeon(R) Processor", xeon.modelName());
        assertTrue(xeon.has("amx_bf16") && xeon.has("avx512_bf16") && xeon.has("avx2") && xeon.has("fma"));
        assertTrue(xeon.nativeBf16());
        assertEquals("amx_bf16 amx_tile avx512_bf16 avx512f avx2 fma", xeon.keyFlags());

        CpuInfo epyc = cpu("epyc-avx2.txt", "amd64");
        assertEquals("AMD EPYC 7B12", epyc.modelName());
        assertTrue(epyc.has("avx2") && epyc.has("fma"));
        // Only the first processor's block counts (the file's second block lists made-up flags).
        assertFalse(epyc.has("avx512f") || epyc.has("avx512_bf16") || epyc.has("amx_bf16"));
        assertFalse(epyc.nativeBf16());
        assertEquals("avx2 fma", epyc.keyFlags());

        CpuInfo graviton3 = cpu("graviton3.txt", "aarch64");
        assertEquals("0xd40", graviton3.modelName());
        assertTrue(graviton3.nativeBf16());
        CpuInfo graviton2 = cpu("graviton2.txt", "aarch64");
        assertFalse(graviton2.nativeBf16());
        // "bf16" only means the ARM extension on ARM.
        assertFalse(new CpuInfo("x", "amd64", Set.of("bf16"), 1).nativeBf16());
    }

    @Test
    void amxXeonUsesBf16() {
        DtypeDecision d = DtypeRule.auto(cpu("xeon-amx.txt", "amd64"), () -> XEON_AMX);
        assertEquals(ComputeType.BF16, d.type());
        assertNull(d.warning());
        assertTrue(d.reason().contains("1200.0") && d.reason().contains("190.0"), d.reason());
    }

    @Test
    void avx2EpycUsesFloat32WithoutProbing() {
        CpuInfo epyc = cpu("epyc-avx2.txt", "amd64");
        DtypeDecision d = DtypeRule.auto(epyc, noProbe());
        assertEquals(ComputeType.F32, d.type());
        assertNull(d.warning());
        assertTrue(d.reason().contains("no native bf16"), d.reason());
        // Even a (misleading) probe could not turn it to bf16: the instructions are missing.
        assertEquals(ComputeType.F32, DtypeRule.auto(epyc, () -> GemmRates.of(10, 100, 512)).type());
    }

    @Test
    void forcingBf16OnTheEpycWorksWithOneWarningNamingBothRates() {
        DtypeDecision d = DtypeRule.decide(DtypeRequest.BF16, cpu("epyc-avx2.txt", "amd64"), () -> EPYC_AVX2);
        assertEquals(ComputeType.BF16, d.type());
        assertNotNull(d.warning());
        assertTrue(d.warning().startsWith("warning: "), d.warning());
        assertTrue(d.warning().contains("1.3 GFLOP/s") && d.warning().contains("91.0 GFLOP/s"), d.warning());
        assertFalse(d.warning().contains("\n"), "one line");
        // Forcing bf16 where it is fast: no warning.
        assertNull(DtypeRule.decide(DtypeRequest.BF16, cpu("xeon-amx.txt", "amd64"), () -> XEON_AMX).warning());
    }

    @Test
    void float32AskedNeverProbes() {
        for (String file : new String[] {"xeon-amx.txt", "epyc-avx2.txt"}) {
            DtypeDecision d = DtypeRule.decide(DtypeRequest.F32, cpu(file, "amd64"), noProbe());
            assertEquals(ComputeType.F32, d.type());
            assertNull(d.warning());
        }
    }

    @Test
    void nativeFlagsAreNotEnoughWithoutTheMeasuredSpeedup() {
        CpuInfo xeon = cpu("xeon-amx.txt", "amd64");
        // Recorded on the Xeon while 20+ processes shared its 2 cores: small bf16 GEMMs 1.0 GFLOP/s...
        assertEquals(ComputeType.F32, DtypeRule.auto(xeon, () -> GemmRates.of(47.0, 1.0, 256)).type());
        // ...or, in another run, bf16 "faster" at 256^3 where both were latency-bound: inconclusive, f32.
        DtypeDecision small = DtypeRule.auto(xeon, () -> GemmRates.of(0.4, 0.6, 256));
        assertEquals(ComputeType.F32, small.type());
        assertTrue(small.reason().contains("inconclusive"), small.reason());
        assertFalse(DtypeRule.conclusive(xeon, GemmRates.of(0.4, 0.6, 256)));
        assertTrue(DtypeRule.conclusive(xeon, XEON_AMX));
        assertTrue(DtypeRule.conclusive(cpu("epyc-avx2.txt", "amd64"), GemmRates.of(0.4, 0.6, 256)), "the flags decide");
        // An AVX512-BF16 CPU without AMX: bf16 only 7% faster than f32 is below the margin...
        CpuInfo zen4 = new CpuInfo("AMD EPYC 9R14", "amd64", Set.of("avx2", "fma", "avx512f", "avx512_bf16"), 2);
        assertEquals(ComputeType.F32, DtypeRule.auto(zen4, () -> GemmRates.of(140, 150, 2048)).type());
        // ...2.9x faster is taken.
        assertEquals(ComputeType.BF16, DtypeRule.auto(zen4, () -> GemmRates.of(140, 400, 2048)).type());
        // Exactly at the margin counts as faster.
        assertEquals(ComputeType.BF16, DtypeRule.auto(zen4, () -> GemmRates.of(100, 100 * DtypeRule.MIN_BF16_SPEEDUP, 2048)).type());
    }

    @Test
    void softmaxAttentionPathFollowsItsOwnMeasurement() {
        CpuInfo xeon = cpu("xeon-amx.txt", "amd64");
        CpuInfo zen = new CpuInfo("AMD EPYC", "amd64", Set.of("avx2", "fma", "avx512f", "avx512_bf16"), 2);
        // Measured on an AVX512-BF16 EPYC without AMX (lolcats info, 2 threads, 2026-12-01): the bf16
        // GEMM 4.7x faster than f32, bf16 SDPA 17x slower.
        GemmRates before = GemmRates.of(65.5, 307.1, 1024).withSdpa(new GemmRates.SdpaTimes(7.9, 132.8));
        assertEquals(ComputeType.BF16, DtypeRule.auto(zen, () -> before).type());
        assertEquals(SoftmaxPath.F32_SDPA, DtypeRule.softmaxPath(zen, before));
        // The same kind of machine with the query-chunk form timed too (lolcats info, 2026-12-02).
        GemmRates epyc = GemmRates.of(169.4, 407.6, 2048).withSdpa(new GemmRates.SdpaTimes(4.8, 132.0, 3.7));
        assertEquals(SoftmaxPath.BF16_BLOCKED, DtypeRule.softmaxPath(zen, epyc));
        // Chunks slower than float32: float32; a tie goes to float32 too.
        assertEquals(SoftmaxPath.F32_SDPA, DtypeRule.softmaxPath(zen, epyc.withSdpa(new GemmRates.SdpaTimes(4.8, 132.0, 6.0))));
        assertEquals(SoftmaxPath.F32_SDPA, DtypeRule.softmaxPath(zen, epyc.withSdpa(new GemmRates.SdpaTimes(4.8, 132.0, 4.8))));
        // AMX: the fused bf16 kernel wins, and is picked over slower chunks.
        assertEquals(SoftmaxPath.BF16_SDPA, DtypeRule.softmaxPath(xeon, XEON_AMX));
        // Without a measurement, AMX decides.
        assertEquals(SoftmaxPath.BF16_SDPA, DtypeRule.softmaxPath(xeon, GemmRates.of(190, 1200, 2048)));
        assertEquals(SoftmaxPath.F32_SDPA, DtypeRule.softmaxPath(zen, GemmRates.of(65.5, 307.1, 1024)));
        // Without native bf16, never bf16, whatever a measurement says.
        assertEquals(SoftmaxPath.F32_SDPA,
                DtypeRule.softmaxPath(cpu("epyc-avx2.txt", "amd64"), EPYC_AVX2.withSdpa(new GemmRates.SdpaTimes(10, 1, 1))));
        // A cached entry from before attention (or its chunked form) was timed is measured again
        // on a native-bf16 CPU.
        assertFalse(DtypeRule.conclusive(zen, GemmRates.of(65.5, 307.1, 1024)));
        assertFalse(DtypeRule.conclusive(zen, before));
        assertTrue(DtypeRule.conclusive(zen, epyc));
    }

    @Test
    void comparesBothDtypesAtTheSameSize() {
        // Best rates 120 (f32 at 2048) vs 300 (bf16 at 1024) would say bf16; at 1024 both, f32 is as fast.
        GemmRates r = new GemmRates(120, 300, 2048, 1024, 1024, 290, 300, 2, 1);
        assertEquals(ComputeType.F32, DtypeRule.auto(cpu("xeon-amx.txt", "amd64"), () -> r).type());
    }

    @Test
    void smallModelsStayInFloat32UnderAuto() {
        DtypeDecision amx = DtypeRule.auto(cpu("xeon-amx.txt", "amd64"), () -> XEON_AMX);
        DtypeDecision demo = DtypeRule.forModel(amx, 128); // the bundled demo teacher
        assertEquals(ComputeType.F32, demo.type());
        assertTrue(demo.reason().contains("hidden size 128"), demo.reason());
        assertEquals(ComputeType.BF16, DtypeRule.forModel(amx, 768).type());
        assertEquals(ComputeType.BF16, DtypeRule.forModel(amx, DtypeRule.MIN_BF16_HIDDEN_SIZE).type());
        // Asked for explicitly, bf16 stays.
        DtypeDecision forced = DtypeRule.decide(DtypeRequest.BF16, cpu("xeon-amx.txt", "amd64"), () -> XEON_AMX);
        assertEquals(ComputeType.BF16, DtypeRule.forModel(forced, 128).type());
    }

    @Test
    void smallModelsTrainedOnTallBatchesKeepTheCpusChoice() {
        DtypeDecision amx = DtypeRule.auto(cpu("xeon-amx.txt", "amd64"), () -> XEON_AMX);
        // the hidden-256 recall teacher: pretrain at 8 x 1024 rows, linearize at 4 x 1024
        assertEquals(ComputeType.BF16, DtypeRule.forModel(amx, 256, 8L * 1024).type());
        assertEquals(ComputeType.BF16, DtypeRule.forModel(amx, 256, 4L * 1024).type());
        // one row short of the bound, the small demo teacher's 8 x 512 rows of 128, decode: f32
        assertEquals(ComputeType.F32, DtypeRule.forModel(amx, 256, 4L * 1024 - 1).type());
        assertEquals(ComputeType.F32, DtypeRule.forModel(amx, 128, 8L * 512).type());
        assertEquals(ComputeType.F32, DtypeRule.forModel(amx, 256, 1).type());
        // rows never turn an f32 decision (no native bf16) into bf16
        DtypeDecision avx2 = DtypeRule.auto(cpu("epyc-avx2.txt", "amd64"), noProbe());
        assertEquals(ComputeType.F32, DtypeRule.forModel(avx2, 256, 1L << 20).type());
    }

    @Test
    void armGravitonChoosesByItsBf16Extension() {
        assertEquals(ComputeType.F32, DtypeRule.auto(cpu("graviton2.txt", "aarch64"), noProbe()).type());
        assertEquals(ComputeType.BF16, DtypeRule.auto(cpu("graviton3.txt", "aarch64"), () -> GemmRates.of(60, 150, 1024)).type());
    }

    @Test
    void unknownCpuUsesFloat32() {
        CpuInfo unknown = CpuInfo.parse("", "amd64", 4);
        assertEquals("unknown", unknown.modelName());
        assertEquals(ComputeType.F32, DtypeRule.auto(unknown, noProbe()).type());
    }

    @Test
    void autoProbesOnlyOnceAndOnlyWhenTheFlagsAllowBf16() {
        AtomicInteger probes = new AtomicInteger();
        DtypeRule.auto(cpu("xeon-amx.txt", "amd64"), () -> {
            probes.incrementAndGet();
            return XEON_AMX;
        });
        assertEquals(1, probes.get());
    }

    @Test
    void parsesRequests() {
        assertEquals(DtypeRequest.AUTO, DtypeRequest.parse("auto"));
        assertEquals(DtypeRequest.AUTO, DtypeRequest.parse(null));
        assertEquals(DtypeRequest.F32, DtypeRequest.parse("float32"));
        assertEquals(DtypeRequest.BF16, DtypeRequest.parse("BF16"));
        BadInputException e = assertThrows(BadInputException.class, () -> DtypeRequest.parse("--dtype", "f16"));
        assertTrue(e.getMessage().contains("--dtype") && e.getMessage().contains("auto") && e.getMessage().contains("\"f16\""),
                e.getMessage());
    }

    @Test
    void probeCacheKeepsOneEntryPerMachineAndSurvivesDamage(@TempDir Path dir) throws IOException {
        ProbeCache cache = new ProbeCache(dir);
        String xeon = ProbeCache.key(cpu("xeon-amx.txt", "amd64"), "2.10.0-1.5.13", 2);
        String epyc = ProbeCache.key(cpu("epyc-avx2.txt", "amd64"), "2.10.0-1.5.13", 2);
        assertFalse(xeon.equals(epyc));
        assertTrue(cache.get(xeon).isEmpty());
        cache.put(xeon, XEON_AMX);
        cache.put(epyc, EPYC_AVX2);
        assertEquals(XEON_AMX, cache.get(xeon).orElseThrow());
        assertEquals(EPYC_AVX2, cache.get(epyc).orElseThrow());
        // Another libtorch or thread count is another machine as far as rates go.
        assertTrue(cache.get(ProbeCache.key(cpu("xeon-amx.txt", "amd64"), "2.11.0", 2)).isEmpty());
        assertTrue(cache.get(ProbeCache.key(cpu("xeon-amx.txt", "amd64"), "2.10.0-1.5.13", 1)).isEmpty());
        Files.writeString(cache.file(), "{not json");
        assertTrue(cache.get(xeon).isEmpty());
        cache.put(xeon, XEON_AMX);
        assertEquals(XEON_AMX, cache.get(xeon).orElseThrow());
    }
}
