package dev.lolcats4j.train.blockwise;

/** Trains one block from its cached inputs (the work behind {@link BlockJob#run}). */
final class BlockTrainer {

    private BlockTrainer() {}

    static BlockResult train(BlockJobSpec spec) {
        throw new UnsupportedOperationException("block training is not implemented yet (" + spec.label() + ")");
    }
}
