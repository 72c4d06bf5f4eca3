package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.data.PackedDataset.Sequence;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.torch.Tensors;
import dev.lolcats4j.train.Batch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The cached hidden states entering one block, memory-mapped, looked up by a batch's input
 * tokens. The teacher is deterministic, so equal input rows have equal hidden states: looking
 * rows up by content lets the block job reuse {@link dev.lolcats4j.train.TrainLoop}'s batching
 * and data order unchanged.
 */
public final class BoundaryInputs implements AutoCloseable {

    private record Row(int shard, int row) {}

    private record Key(int[] tokens) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(tokens, k.tokens);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(tokens);
        }
    }

    private final List<SafetensorsFile> files = new ArrayList<>();
    private final Map<Key, Row> rows = new HashMap<>();
    private final PackedDataset dataset;

    BoundaryInputs(Path dir, List<HiddenStateCache.Shard> shards, PackedDataset dataset) {
        this.dataset = dataset;
        List<Sequence> all = new ArrayList<>(dataset.train());
        all.addAll(dataset.heldOut());
        for (HiddenStateCache.Shard s : shards) {
            int index = files.size();
            files.add(SafetensorsFile.open(dir.resolve(s.file())));
            for (int r = 0; r < s.sequences(); r++) {
                int[] t = all.get(s.firstSequence() + r).tokens();
                rows.putIfAbsent(new Key(Arrays.copyOf(t, t.length - 1)), new Row(index, r));
            }
        }
    }

    /** The transfer data the cache was built from. */
    public PackedDataset dataset() {
        return dataset;
    }

    /** Float32 [B, N, D] hidden states entering the block for the batch's input rows. */
    public Tensor inputs(Batch batch) {
        long b = batch.inputs().size(0);
        long n = batch.inputs().size(1);
        long[] ids = Tensors.toLongs(batch.inputs());
        TensorVector parts = new TensorVector();
        for (int i = 0; i < b; i++) {
            int[] key = new int[(int) n];
            for (int j = 0; j < n; j++) {
                key[j] = (int) ids[(int) (i * n + j)];
            }
            Row row = rows.get(new Key(key));
            if (row == null) {
                throw new BadInputException("hidden-state cache: batch row " + i + " is not among the cached sequences");
            }
            SafetensorsFile f = files.get(row.shard());
            Tensor shard = Tensors.viewOf(f.get("hidden"));
            // Copy out of the mapped file (to() makes a new float32 tensor).
            parts.push_back(shard.select(0, row.row()).to(Tensors.F32));
        }
        return torch.stack(parts);
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
