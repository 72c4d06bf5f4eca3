package dev.lolcats4j.train.blockwise;

import java.io.Serializable;
import java.nio.file.Path;

/**
 * One block's stage-1 job, as plain values so it can be serialised to any JVM (a Spark
 * executor). All paths are absolute and must be visible to every process that may run the
 * job (see the package documentation).
 *
 * @param modelDir the base model's Hugging Face folder (safetensors, config.json)
 * @param cacheDir the hidden-state cache ({@link HiddenStateCache}) built for this model and data
 * @param runDir the block-wise run folder; this job writes only under {@code runDir/blocks/block-NNN}
 * @param blockIndex 0-based index of the block
 * @param blockCount number of blocks in the run
 * @param firstLayer first layer of the block (inclusive)
 * @param endLayer end of the block (exclusive)
 * @param computeType "float32" or "bfloat16": the dtype of the frozen weights
 * @param adapterConfigJson lolcats_config.json of the conversion (no LoRA)
 * @param training stage-1 knobs (steps, learning rate, batch, seed...)
 */
public record BlockJobSpec(
        String modelDir,
        String cacheDir,
        String runDir,
        int blockIndex,
        int blockCount,
        int firstLayer,
        int endLayer,
        String computeType,
        String adapterConfigJson,
        BlockTraining training) implements Serializable {

    public BlockJobSpec {
        if (firstLayer < 0 || endLayer <= firstLayer) {
            throw new IllegalArgumentException("block " + blockIndex + ": expected 0 <= firstLayer < endLayer, found ["
                    + firstLayer + ", " + endLayer + ")");
        }
        if (blockIndex < 0 || blockIndex >= blockCount) {
            throw new IllegalArgumentException("block index " + blockIndex + " outside [0, " + blockCount + ")");
        }
    }

    /** The folder this job owns: {@code runDir/blocks/block-NNN}. */
    public Path blockDir() {
        return Path.of(runDir).resolve("blocks").resolve(String.format(java.util.Locale.ROOT, "block-%03d", blockIndex));
    }

    public int layerCount() {
        return endLayer - firstLayer;
    }

    /** "block 3 (layers 6-7)" for messages. */
    public String label() {
        return "block " + blockIndex + " (layers " + firstLayer + (layerCount() > 1 ? "-" + (endLayer - 1) : "") + ")";
    }
}
