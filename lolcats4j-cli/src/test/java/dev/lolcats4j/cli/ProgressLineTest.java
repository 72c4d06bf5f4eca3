package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ProgressLineTest {

    @Test
    void etaOfAResumedRunCountsOnlyTheStepsThisProcessRan() {
        long[] now = {0};
        StringWriter out = new StringWriter();
        ProgressLine line = new ProgressLine(new PrintWriter(out), "pretrain", () -> now[0]);
        // Resumed at step 200 of 2000; ten steps take 20 s: 1,790 steps to go at 2 s each.
        for (int step = 201; step <= 210; step++) {
            now[0] += 2_000_000_000L;
            line.onStep(step, 2000, 2.0, Double.NaN, 1e-3, 2000);
        }
        assertTrue(out.toString().contains("step 210/2000") && out.toString().contains("ETA 59m40s"), out.toString());
    }
}
