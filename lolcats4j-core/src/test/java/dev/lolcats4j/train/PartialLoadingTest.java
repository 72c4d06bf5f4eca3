package dev.lolcats4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.io.SafetensorsFile;
import dev.lolcats4j.io.SafetensorsWriter;
import dev.lolcats4j.io.TensorData;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.LayerBlock;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.torch.Tensors;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartialLoadingTest {

    /**
     * A folder from which every tensor but layer 1's was removed: the whole model cannot load,
     * layer 1 alone can, with exactly the stored values. So a block job never reads the rest.
     */
    @Test
    void loadsOnlyTheBlocksLayers(@TempDir Path tmp) throws Exception {
        Path full = BlockwiseFixtures.model(tmp.resolve("full"), 3);
        Path partial = Files.createDirectories(tmp.resolve("partial"));
        Files.copy(full.resolve("config.json"), partial.resolve("config.json"));
        Map<String, TensorData> kept = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(full.resolve("model.safetensors"))) {
            for (String name : f.tensors().keySet()) {
                if (name.startsWith("model.layers.1.")) {
                    TensorData t = f.get(name);
                    ByteBuffer copy = ByteBuffer.allocate((int) t.byteSize()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    copy.put(t.data().duplicate()).flip();
                    kept.put(name, new TensorData(t.dtype(), t.shape(), copy));
                }
            }
        }
        SafetensorsWriter.write(partial.resolve("model.safetensors"), kept, Map.of("format", "pt"));

        assertThrows(BadInputException.class, () -> ModelLoader.load(partial, ComputeType.F32));
        LayerBlock block = ModelLoader.loadLayers(partial, ComputeType.F32, 1, 2);
        assertEquals(1, block.layers().size());
        assertEquals(1, block.firstLayer());
        DecoderModel whole = ModelLoader.load(full, ComputeType.F32);
        for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
            assertArrayEquals(Tensors.toFloats(whole.layers().get(1).projection(name).weight()),
                    Tensors.toFloats(block.layers().get(0).projection(name).weight()), 0f, name);
        }
        assertThrows(BadInputException.class, () -> ModelLoader.loadLayers(partial, ComputeType.F32, 0, 1));
        assertThrows(BadInputException.class, () -> ModelLoader.loadLayers(partial, ComputeType.F32, 1, 3));
    }
}
