package dev.lolcats4j.cpu;

import dev.lolcats4j.model.ComputeType;

/**
 * The matmul dtype a run uses and why.
 *
 * @param type the compute dtype of the matmuls
 * @param requested what --dtype asked for
 * @param reason one phrase, e.g. "auto: bf16 GEMM 1180.0 GFLOP/s vs f32 190.0"
 * @param warning one line to print when the request goes against the measurements, else null
 * @param rates the probe's rates, or null where no probe was needed (float32 asked, or no native bf16)
 */
public record DtypeDecision(ComputeType type, DtypeRequest requested, String reason, String warning, GemmRates rates) {

    /** "f32" or "bf16". */
    public String dtypeName() {
        return type == ComputeType.BF16 ? "bf16" : "f32";
    }
}
