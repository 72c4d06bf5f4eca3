package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.generate.Scorer;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.testing.ParityFixtures.Case;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A merged standalone folder scores like base + adapter (and like the float64 reference). */
class MergeTest {

    @Test
    void mergedFolderScoresLikeBasePlusAdapter(@TempDir Path tmp) {
        Case c = ParityFixtures.cases().stream().filter(x -> x.name().equals("llama-f32/sw-lora")).findFirst().orElseThrow();
        Path out = tmp.resolve("merged");
        Models.merge(c.model(), c.adapter(), out, Tensors.F32);

        assertTrue(Files.isRegularFile(out.resolve("config.json")));
        assertNull(AdapterConfigJson.read(out).lora(), "LoRA is folded into the weights, not kept in the adapter");
        double[] unmerged = Scorer.logprobs(Models.open(c.model(), c.adapter(), ComputeType.F32), c.tokenIds());
        double[] merged = Scorer.logprobs(Models.open(out, null, ComputeType.F32), c.tokenIds());
        for (int t = 0; t < merged.length; t++) {
            assertEquals(unmerged[t], merged[t], 1e-4, "position " + t);
            assertEquals(c.logprobs()[t], merged[t], ParityFixtures.tolerance(), "reference, position " + t);
        }
    }
}
