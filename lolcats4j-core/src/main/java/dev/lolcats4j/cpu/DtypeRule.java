package dev.lolcats4j.cpu;

import dev.lolcats4j.model.ComputeType;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The matmul dtype rule: bf16 only where the CPU has native bf16 instructions (AMX,
 * AVX512-BF16, ARM BF16) and the probe measured bf16 at least {@link #MIN_BF16_SPEEDUP} times
 * faster than float32 at the same size; float32 everywhere else. Both conditions matter: without the
 * instructions libtorch emulates bf16 (1.3 GFLOP/s against 91 in float32 on an AVX2-only EPYC),
 * and the flags alone do not prove that this libtorch build uses them.
 *
 * <p>The margin pays for what bf16 adds around the matmuls (casting activations, bf16
 * attention) that a bare GEMM rate does not show.
 */
public final class DtypeRule {

    public static final double MIN_BF16_SPEEDUP = 1.2;

    /**
     * The smallest size at which the two rates are compared: below it both are dominated by
     * per-call latency (on this project's shared 2-core machine, 256^3 GEMMs measured 0.4-60
     * GFLOP/s in f32 and 0.4-390 in bf16 from one run to the next), so the ratio says nothing.
     */
    public static final int MIN_COMPARE_SIZE = 512;

    /**
     * Models narrower than this stay in float32 under auto: their GEMMs are so small that
     * per-call costs dominate and bf16 only adds casts (measured here, fastest of 8 calls: a
     * [512 x 256] x [256 x 704] linear ran at 166 GFLOP/s in f32 and 31 in bf16 with AMX).
     */
    public static final int MIN_BF16_HIDDEN_SIZE = 512;

    private DtypeRule() {}

    /**
     * From this many activation elements per GEMM input (rows x hidden size) up, the small-hidden
     * exception no longer applies: the matmuls are large enough for bf16's rate to show. Measured
     * on the hidden-256 recall teacher: {@code pretrain} at 8,192 rows (2M elements) ran bf16
     * 2,695 vs f32 1,977 tokens/s on an Intel Xeon with avx512_bf16 and no AMX (where the bare
     * GEMM probe gave bf16 only 1.32x f32) and about 3x on an AMD EPYC with avx512_bf16;
     * {@code linearize} stage 1 at 4,096 rows (1M) ran 6,479 tokens/s in bf16 against 2,324 in f32
     * on that EPYC (step 10 of two demo runs, one after the other). The 512-row linear above
     * (131k) lost on AMX. The small demo teacher's training (4,096 x 128, 0.5M) stays below: not
     * measured, so it keeps float32.
     */
    public static final long MIN_BF16_GEMM_ELEMENTS = 1L << 20;

    /**
     * An auto decision adjusted to the model it is for, when its GEMMs are short (inference:
     * decode, scoring in modest batches): bf16 becomes f32 for a model whose hidden size is
     * below {@link #MIN_BF16_HIDDEN_SIZE}. Explicit requests are kept.
     */
    public static DtypeDecision forModel(DtypeDecision decision, int hiddenSize) {
        return forModel(decision, hiddenSize, 0);
    }

    /**
     * As {@link #forModel(DtypeDecision, int)}, knowing that every GEMM has {@code rowsPerGemm}
     * rows (training: micro-batch x sequence length). From {@link #MIN_BF16_GEMM_ELEMENTS} rows x
     * hidden size up a small model keeps the CPU's choice: its GEMMs are no longer small.
     */
    public static DtypeDecision forModel(DtypeDecision decision, int hiddenSize, long rowsPerGemm) {
        if (decision.requested() != DtypeRequest.AUTO || decision.type() != ComputeType.BF16 || hiddenSize >= MIN_BF16_HIDDEN_SIZE
                || rowsPerGemm * hiddenSize >= MIN_BF16_GEMM_ELEMENTS) {
            return decision;
        }
        return new DtypeDecision(ComputeType.F32, DtypeRequest.AUTO, String.format(Locale.ROOT,
                "auto: f32 (hidden size %d < %d: GEMMs this small run faster in f32; the CPU alone would pick bf16)",
                hiddenSize, MIN_BF16_HIDDEN_SIZE), null, decision.rates());
    }

    /** What {@code --dtype auto} picks; {@code rates} is only asked for when the flags allow bf16. */
    public static DtypeDecision auto(CpuInfo cpu, Supplier<GemmRates> rates) {
        if (!cpu.nativeBf16()) {
            return new DtypeDecision(ComputeType.F32, DtypeRequest.AUTO,
                    "auto: f32 (no native bf16 instructions: amx_bf16, avx512_bf16 or ARM bf16)", null, null);
        }
        GemmRates r = rates.get();
        if (r.commonSize() < MIN_COMPARE_SIZE) {
            return new DtypeDecision(ComputeType.F32, DtypeRequest.AUTO, String.format(Locale.ROOT,
                    "auto: f32 (probe inconclusive: bf16 compared with f32 only at %d^3, bf16 %.1f vs f32 %.1f GFLOP/s)",
                    r.commonSize(), r.bf16AtCommonGflops(), r.f32AtCommonGflops()), null, r);
        }
        if (r.bf16Speedup() >= MIN_BF16_SPEEDUP) {
            return new DtypeDecision(ComputeType.BF16, DtypeRequest.AUTO, String.format(Locale.ROOT,
                    "auto: bf16 (GEMM at %d^3: bf16 %.1f GFLOP/s vs f32 %.1f)", r.commonSize(), r.bf16AtCommonGflops(),
                    r.f32AtCommonGflops()), null, r);
        }
        return new DtypeDecision(ComputeType.F32, DtypeRequest.AUTO, String.format(Locale.ROOT,
                "auto: f32 (GEMM at %d^3: bf16 %.1f GFLOP/s is not %.1fx f32's %.1f)", r.commonSize(), r.bf16AtCommonGflops(),
                MIN_BF16_SPEEDUP, r.f32AtCommonGflops()), null, r);
    }

    /**
     * True if the rates settle the choice for this CPU: no native bf16 (the flags decide), or
     * a comparison at {@link #MIN_COMPARE_SIZE} or above that bf16 won. Only such rates are
     * cached: a native-bf16 CPU measured slow is more likely a probe disturbed by other
     * processes, and is measured again next time.
     */
    public static boolean conclusive(CpuInfo cpu, GemmRates r) {
        return !cpu.nativeBf16() || (r.commonSize() >= MIN_COMPARE_SIZE && r.bf16Speedup() >= MIN_BF16_SPEEDUP
                && r.sdpa() != null && r.sdpa().bf16Ms() > 0 && r.sdpa().blockedBf16Ms() > 0);
    }

    /**
     * How a model whose matmuls are bf16 runs its softmax attention: the fastest of the measured
     * forms ({@link GemmRates.SdpaTimes}: libtorch's fused kernel in float32 or bf16, and bf16
     * in query chunks), float32 on a tie. Without a measurement, the fused bf16 kernel only on
     * CPUs with AMX, whose tile instructions it is built on, else float32. Never bf16 without
     * native bf16.
     */
    public static SoftmaxPath softmaxPath(CpuInfo cpu, GemmRates r) {
        if (!cpu.nativeBf16()) {
            return SoftmaxPath.F32_SDPA;
        }
        if (r != null && r.sdpa() != null && r.sdpa().f32Ms() > 0) {
            GemmRates.SdpaTimes t = r.sdpa();
            SoftmaxPath best = SoftmaxPath.F32_SDPA;
            double bestMs = t.f32Ms();
            if (t.bf16Ms() > 0 && t.bf16Ms() < bestMs) {
                best = SoftmaxPath.BF16_SDPA;
                bestMs = t.bf16Ms();
            }
            if (t.blockedBf16Ms() > 0 && t.blockedBf16Ms() < bestMs) {
                best = SoftmaxPath.BF16_BLOCKED;
            }
            return best;
        }
        return cpu.flags().contains("amx_bf16") ? SoftmaxPath.BF16_SDPA : SoftmaxPath.F32_SDPA;
    }

    /**
     * The decision for a request: auto as above; f32 as asked (no probe); bf16 as asked, with
     * one warning line when auto would not have picked it (the two measured rates in it).
     */
    public static DtypeDecision decide(DtypeRequest request, CpuInfo cpu, Supplier<GemmRates> rates) {
        return switch (request) {
            case AUTO -> auto(cpu, rates);
            case F32 -> new DtypeDecision(ComputeType.F32, request, "f32 (asked)", null, null);
            case BF16 -> {
                GemmRates r = rates.get();
                DtypeDecision auto = auto(cpu, () -> r);
                String warning = auto.type() == ComputeType.BF16 ? null : String.format(Locale.ROOT,
                        "warning: --dtype bf16 on a CPU where bf16 matmuls are slow: measured %.1f GFLOP/s in bf16 against "
                        + "%.1f GFLOP/s in f32 (%s); --dtype auto would use f32", r.bf16AtCommonGflops(), r.f32AtCommonGflops(),
                        cpu.nativeBf16() ? "bf16 instructions present but slower here" : "no native bf16 instructions");
                yield new DtypeDecision(ComputeType.BF16, request, "bf16 (asked)", warning, r);
            }
        };
    }
}
