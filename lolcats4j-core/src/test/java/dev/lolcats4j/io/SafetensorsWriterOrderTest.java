package dev.lolcats4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identical content gives identical bytes: the {@code __metadata__} keys are written in key
 * order whatever order the caller's map iterates in ({@code Map.of} changes its order from one
 * JVM run to the next, which made identical runs write different adapter files).
 */
class SafetensorsWriterOrderTest {

    @Test
    void metadataOrderDoesNotDependOnTheMapsIterationOrder(@TempDir Path tmp) throws Exception {
        Map<String, TensorData> tensors = Map.of("w", TensorData.ofFloats(new long[] {2}, new float[] {1, 2}));
        Map<String, String> forward = new LinkedHashMap<>();
        forward.put("format", "pt");
        forward.put("producer", "lolcats4j");
        Map<String, String> backward = new LinkedHashMap<>();
        backward.put("producer", "lolcats4j");
        backward.put("format", "pt");
        SafetensorsWriter.write(tmp.resolve("a.safetensors"), tensors, forward);
        SafetensorsWriter.write(tmp.resolve("b.safetensors"), tensors, backward);
        byte[] a = Files.readAllBytes(tmp.resolve("a.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b.safetensors")));
        String header = new String(a, 8, a.length - 8, StandardCharsets.UTF_8);
        assertEquals(true, header.startsWith("{\"__metadata__\":{\"format\":\"pt\",\"producer\":\"lolcats4j\"}"), header);
    }
}
