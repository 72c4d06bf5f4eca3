package dev.lolcats4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Examples concatenated into one token stream and cut into fixed-length sequences of
 * {@code length + 1} tokens (inputs plus the shifted target), split into train and held-out
 * sequences, the training order shuffled per epoch from a seed.
 */
public final class PackedDataset {

    /** One packed sequence: length + 1 tokens and, per target position, whether it counts. */
    public record Sequence(int[] tokens, boolean[] targetCounts) {}

    private final List<Sequence> train;
    private final List<Sequence> heldOut;
    private final long seed;

    private PackedDataset(List<Sequence> train, List<Sequence> heldOut, long seed) {
        this.train = train;
        this.heldOut = heldOut;
        this.seed = seed;
    }

    /** A consumer that packs examples as they stream in; call {@link Packer#finish} at the end. */
    public static Packer packer(int length) {
        return new Packer(length);
    }

    /** A dataset from already packed sequences (e.g. read back from a hidden-state cache). */
    public static PackedDataset of(List<Sequence> train, List<Sequence> heldOut, long seed) {
        return new PackedDataset(List.copyOf(train), List.copyOf(heldOut), seed);
    }

    /** The seed of the per-epoch training order. */
    public long seed() {
        return seed;
    }

    public List<Sequence> train() {
        return train;
    }

    public List<Sequence> heldOut() {
        return heldOut;
    }

    /** The training order for an epoch: a permutation that depends only on seed and epoch. */
    public int[] order(int epoch) {
        int[] order = new int[train.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed * 1_000_003L + epoch);
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    public long trainTokens() {
        return train.isEmpty() ? 0 : (long) train.size() * (train.get(0).tokens().length - 1);
    }

    /** Streaming packer. */
    public static final class Packer implements Consumer<Example> {
        private final int length;
        private final List<Sequence> sequences = new ArrayList<>();
        private final int[] tokens;
        private final boolean[] counts;
        private int filled;

        private Packer(int length) {
            this.length = length;
            this.tokens = new int[length + 1];
            this.counts = new boolean[length + 1];
        }

        @Override
        public void accept(Example example) {
            int[] ids = example.tokens();
            for (int i = 0; i < ids.length; i++) {
                tokens[filled] = ids[i];
                counts[filled] = example.trainOn()[i];
                filled++;
                if (filled == length + 1) {
                    boolean[] targets = new boolean[length];
                    System.arraycopy(counts, 1, targets, 0, length);
                    sequences.add(new Sequence(tokens.clone(), targets));
                    // The last token starts the next sequence so no prediction is lost.
                    tokens[0] = tokens[length];
                    counts[0] = counts[length];
                    filled = 1;
                }
            }
        }

        /**
         * Splits the packed sequences: every k-th goes to held-out so that it spans the data.
         *
         * @param heldOutFraction e.g. 0.05
         */
        public PackedDataset finish(double heldOutFraction, long seed) {
            List<Sequence> train = new ArrayList<>();
            List<Sequence> heldOut = new ArrayList<>();
            int stride = heldOutFraction <= 0 ? Integer.MAX_VALUE : Math.max(2, (int) Math.round(1 / heldOutFraction));
            for (int i = 0; i < sequences.size(); i++) {
                (i % stride == stride - 1 ? heldOut : train).add(sequences.get(i));
            }
            if (heldOut.isEmpty() && heldOutFraction > 0 && train.size() > 1) {
                heldOut.add(train.remove(train.size() - 1));
            }
            return new PackedDataset(train, heldOut, seed);
        }
    }
}
