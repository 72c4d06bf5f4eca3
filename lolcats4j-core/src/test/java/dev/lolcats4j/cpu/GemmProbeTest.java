package dev.lolcats4j.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The probe's result is well-formed (its speed is measured in benchmarks, not asserted here). */
class GemmProbeTest {

    @Test
    void measuresBothDtypesAtACommonSize() {
        GemmRates r = GemmProbe.measure(0.1);
        assertTrue(r.f32Gflops() > 0 && r.bf16Gflops() > 0, r.toString());
        assertTrue(r.commonSize() >= 256 && r.commonSize() == Math.min(r.f32Size(), r.bf16Size()), r.toString());
        assertTrue(r.f32AtCommonGflops() > 0 && r.f32AtCommonGflops() <= r.f32Gflops(), r.toString());
        assertTrue(r.bf16AtCommonGflops() > 0 && r.bf16AtCommonGflops() <= r.bf16Gflops(), r.toString());
        assertTrue(r.threads() >= 1, r.toString());
    }
}
