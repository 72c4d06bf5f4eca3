package dev.lolcats4j.train.blockwise;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.JsonFiles;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.train.TrainListener;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The entry point a runner calls for one block, in any JVM: trains the block's feature maps
 * and window factors from its cached inputs and writes {@code blockDir/adapter/} then the
 * done marker {@code blockDir/done.json}. Idempotent: a block whose done marker exists
 * returns its stored result at once (with {@link BlockResult#reused()} set); an interrupted
 * block resumes from the checkpoint in {@code blockDir/train/}.
 */
public final class BlockJob {

    /** The done marker: the block's {@link BlockResult} as JSON, renamed into place last. */
    public static final String DONE_FILE = "done.json";

    /** The block's adapter folder (adapter.safetensors + lolcats_config.json, only its layers). */
    public static final String ADAPTER_DIR = "adapter";

    /** The settings the block folder was made with (see {@link #checkSettings}). */
    static final String SETTINGS_FILE = "settings.txt";

    private static final ObjectMapper JSON = new ObjectMapper();

    private BlockJob() {}

    /** True when the block's done marker exists. */
    public static boolean isDone(BlockJobSpec spec) {
        return Files.isRegularFile(spec.blockDir().resolve(DONE_FILE));
    }

    /** Runs (or skips) one block; see the class documentation. */
    public static BlockResult run(BlockJobSpec spec) {
        return run(spec, TrainListener.SILENT);
    }

    /** {@link #run(BlockJobSpec)}, reporting each optimiser step to {@code listener}. */
    public static BlockResult run(BlockJobSpec spec, TrainListener listener) {
        checkSettings(spec);
        if (isDone(spec)) {
            return readDone(spec.blockDir().resolve(DONE_FILE), true);
        }
        Natives.init();
        BlockResult result = BlockTrainer.train(spec, listener);
        writeDone(spec.blockDir(), result);
        return result;
    }

    /**
     * A block folder belongs to one set of settings (layers, conversion, training knobs):
     * reusing it with others would silently mix results, so that is refused.
     */
    private static void checkSettings(BlockJobSpec spec) {
        Path file = spec.blockDir().resolve(SETTINGS_FILE);
        String settings = "layers " + spec.firstLayer() + ".." + spec.endLayer() + "\ncompute " + spec.computeType()
                + "\n" + spec.training() + "\n" + spec.adapterConfigJson().strip() + "\n";
        try {
            if (Files.isRegularFile(file)) {
                if (!Files.readString(file).equals(settings)) {
                    throw new BadInputException(file + ": this block was trained with other settings (layers, conversion "
                            + "or stage-1 options); use a new --out folder");
                }
                return;
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        AtomicFiles.writeString(file, settings);
    }

    static void writeDone(Path blockDir, BlockResult r) {
        ObjectNode node = JSON.createObjectNode();
        node.put("block", r.blockIndex());
        node.put("first_layer", r.firstLayer());
        node.put("end_layer", r.endLayer());
        node.put("initial_mse", r.initialMse());
        node.put("final_mse", r.finalMse());
        node.put("steps", r.steps());
        node.put("train_tokens", r.trainTokens());
        node.put("seconds", r.seconds());
        AtomicFiles.writeString(blockDir.resolve(DONE_FILE), node.toPrettyString());
    }

    static BlockResult readDone(Path file, boolean reused) {
        JsonNode n = JsonFiles.read(file);
        return new BlockResult(n.path("block").asInt(), n.path("first_layer").asInt(), n.path("end_layer").asInt(),
                n.path("initial_mse").asDouble(), n.path("final_mse").asDouble(), n.path("steps").asInt(),
                n.path("train_tokens").asLong(), n.path("seconds").asDouble(), reused);
    }
}
