package dev.lolcats4j.cli;

import dev.lolcats4j.cpu.Capabilities;
import dev.lolcats4j.cpu.DtypeDecision;
import dev.lolcats4j.cpu.DtypeRequest;
import java.io.PrintWriter;

/**
 * The {@code --dtype auto|f32|bf16} option every command that runs matmuls shares: parsing,
 * and the decision on this machine (see {@link dev.lolcats4j.cpu.DtypeRule}) with its one
 * warning line when bf16 is forced where it is slow.
 */
final class Dtypes {

    static final String LABEL = "auto|f32|bf16";
    static final String DESCRIPTION = "Matmul dtype (default: ${DEFAULT-VALUE}: bf16 only where this CPU runs bf16 "
            + "natively and measurably faster than f32, else f32; see 'lolcats info'). f32 matches the reference to ~1e-5.";

    private Dtypes() {}

    /** Checks the text without probing anything (fast failures first). */
    static DtypeRequest parse(String text) {
        return DtypeRequest.parse("--dtype", text);
    }

    /** Decides the dtype on this machine; prints the warning line, if any, to {@code err}. */
    static DtypeDecision decide(String text, PrintWriter err) {
        DtypeDecision decision = Capabilities.decide(parse(text));
        if (decision.warning() != null && err != null) {
            err.println(decision.warning());
            err.flush();
        }
        return decision;
    }
}
