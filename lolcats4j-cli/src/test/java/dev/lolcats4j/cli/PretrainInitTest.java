package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.torch.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pretrain --init DIR}: continued pretraining starts from DIR's weights and never writes DIR. */
class PretrainInitTest {

    private static final String[] SHAPE = {"--seq-len", "32", "--hidden", "32", "--layers", "2", "--heads", "2", "--kv-heads", "1",
        "--intermediate", "64", "--batch", "4", "--micro-batch", "4"};

    @Test
    void continuedPretrainingStartsFromTheInitWeightsAndLeavesThemAlone(@TempDir Path tmp) throws IOException {
        Path data = TinyCorpus.write(tmp, 300);
        Path first = tmp.resolve("first");
        run("pretrain", "--data", data.toString(), "--out", first.toString(), "--steps", "3").assertOk();
        Map<String, String> before = Trees.hash(first);
        // One step at a tiny learning rate: the result stays next to the init weights, far from a random start.
        Path continued = tmp.resolve("continued");
        Cli.Result r = run("pretrain", "--data", data.toString(), "--out", continued.toString(), "--steps", "1", "--lr", "1e-9",
                "--min-lr", "1e-9", "--init", first.toString(), "--seed", "9");
        r.assertOk();
        assertTrue(r.err().contains("starting from the weights of " + first), r.err());
        Path fresh = tmp.resolve("fresh");
        run("pretrain", "--data", data.toString(), "--out", fresh.toString(), "--steps", "1", "--lr", "1e-9", "--min-lr", "1e-9",
                "--seed", "9").assertOk();
        assertEquals(before, Trees.hash(first), "the --init folder is unchanged");
        double toInit = distance(continued, first);
        double freshToInit = distance(fresh, first);
        assertTrue(toInit < 1e-6 && freshToInit > 1e-2, "continued-init " + toInit + ", fresh-init " + freshToInit);
    }

    @Test
    void initWithConfigIsRefusedBeforeAnythingIsWritten(@TempDir Path tmp) throws IOException {
        Path data = TinyCorpus.write(tmp, 300);
        Path first = tmp.resolve("first");
        run("pretrain", "--data", data.toString(), "--out", first.toString(), "--steps", "1").assertOk();
        Cli.Result r = Cli.run("pretrain", "--data", data.toString(), "--out", tmp.resolve("x").toString(), "--steps", "1",
                "--init", first.toString(), "--config", first.resolve("config.json").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--init and --config"), r.err());
        assertTrue(!tmp.resolve("x").toFile().exists());
        // --out inside the --init folder is refused, and named as --init.
        Map<String, String> before = Trees.hash(first);
        r = Cli.run("pretrain", "--data", data.toString(), "--out", first.resolve("sub").toString(), "--steps", "1",
                "--init", first.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--init"), r.err());
        assertEquals(before, Trees.hash(first));
    }

    private static Cli.Result run(String... args) {
        String[] all = new String[args.length + SHAPE.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(SHAPE, 0, all, args.length, SHAPE.length);
        return Cli.run(all);
    }

    /** Largest absolute difference over all weights of two model folders. */
    private static double distance(Path a, Path b) {
        try (DecoderModel x = ModelLoader.load(a, ComputeType.F32); DecoderModel y = ModelLoader.load(b, ComputeType.F32)) {
            double largest = 0;
            Map<String, Tensor> ys = y.namedWeights();
            for (Map.Entry<String, Tensor> e : x.namedWeights().entrySet()) {
                largest = Math.max(largest, e.getValue().sub(ys.get(e.getKey())).abs().max().item_double());
            }
            return largest;
        }
    }
}
