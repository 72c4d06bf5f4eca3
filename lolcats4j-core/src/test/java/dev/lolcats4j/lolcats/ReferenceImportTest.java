package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.generate.Scorer;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.testing.ParityFixtures.Case;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reference's .pt checkpoints import into an adapter folder that scores like the reference. */
class ReferenceImportTest {

    private static Case loraCase() {
        return ParityFixtures.cases().stream().filter(c -> c.name().equals("llama-f32/sw-lora")).findFirst().orElseThrow();
    }

    @Test
    void importedAdapterScoresLikeTheReference(@TempDir Path tmp) {
        Case c = loraCase();
        Path pt = c.adapter().resolve("reference_pt");
        AdapterConfig config = AdapterConfigJson.read(c.adapter());
        Path out = tmp.resolve("imported");
        ReferenceImport.run(pt.resolve("distill.pt"), pt.resolve("ft.pt"), config, ModelLoader.load(c.model(), ComputeType.F32), out);

        DecoderModel model = Models.open(c.model(), out, ComputeType.F32);
        double[] logprobs = Scorer.logprobs(model, c.tokenIds());
        for (int t = 0; t < logprobs.length; t++) {
            assertEquals(c.logprobs()[t], logprobs[t], ParityFixtures.tolerance(), "position " + t);
        }
    }

    @Test
    void loraWithoutLoraConfigIsRejected(@TempDir Path tmp) {
        Case c = loraCase();
        Path pt = c.adapter().resolve("reference_pt");
        AdapterConfig noLora = AdapterConfigJson.read(c.adapter()).withLora(null);
        BadInputException e = assertThrows(BadInputException.class,
                () -> ReferenceImport.run(pt.resolve("distill.pt"), pt.resolve("ft.pt"), noLora, null, tmp.resolve("out")));
        assertTrue(e.getMessage().contains("ft.pt"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("out").resolve(Adapters.WEIGHTS_FILE)));
    }

    @Test
    void checkpointWithoutModelStateDictIsRejected(@TempDir Path tmp) throws IOException {
        Path bogus = tmp.resolve("bogus.pt");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(bogus))) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            // protocol 2: {'step': 1}
            zip.write(new byte[] {(byte) 0x80, 2, '}', 'q', 0, 'X', 4, 0, 0, 0, 's', 't', 'e', 'p', 'K', 1, 's', '.'});
            zip.closeEntry();
        }
        BadInputException e = assertThrows(BadInputException.class,
                () -> ReferenceImport.run(bogus, null, AdapterConfig.defaults(), null, tmp.resolve("out")));
        assertTrue(e.getMessage().contains("model_state_dict"), e.getMessage());
    }
}
