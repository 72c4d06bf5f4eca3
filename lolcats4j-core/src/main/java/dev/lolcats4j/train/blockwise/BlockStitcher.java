package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.AtomicFiles;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Joins finished block adapters into one adapter folder, tensors in layer order under their
 * reference names: the same folder joint stage 1 writes, so stage 2 and every other command
 * take it unchanged.
 */
public final class BlockStitcher {

    private BlockStitcher() {}

    public static void stitch(List<BlockJobSpec> jobs, AdapterConfig config, Path out) {
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        List<BlockJobSpec> ordered = new ArrayList<>(jobs);
        ordered.sort(java.util.Comparator.comparingInt(BlockJobSpec::firstLayer));
        for (BlockJobSpec job : ordered) {
            if (!BlockJob.isDone(job)) {
                throw new IllegalStateException(job.label() + ": not finished (no " + BlockJob.DONE_FILE + "), cannot stitch");
            }
            Path file = job.blockDir().resolve(BlockJob.ADAPTER_DIR).resolve(Adapters.WEIGHTS_FILE);
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (String name : f.tensors().keySet()) {
                    if (tensors.containsKey(name)) {
                        throw BadInputException.at(file, name, "tensor also written by another block");
                    }
                    TensorData t = f.get(name);
                    // Copy out of the mapped file before it closes.
                    ByteBuffer copy = ByteBuffer.allocate(Math.toIntExact(t.byteSize())).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    copy.put(t.data().duplicate()).flip();
                    tensors.put(name, new TensorData(t.dtype(), t.shape(), copy));
                }
            }
        }
        AtomicFiles.createDirectories(out);
        SafetensorsWriter.write(out.resolve(Adapters.WEIGHTS_FILE), tensors, Map.of("format", "pt", "producer", "lolcats4j"));
        AtomicFiles.writeString(out.resolve(AdapterConfigJson.FILE_NAME), AdapterConfigJson.toJson(config.withLora(null)));
    }
}
