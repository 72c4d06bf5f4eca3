package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.testing.ParityFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapter folders that do not fit: one clear message naming the file and field. */
class AdapterErrorsTest {

    private static Path copyAdapter(Path tmp, String name) throws IOException {
        Path source = ParityFixtures.path("adapters/" + name);
        Path target = tmp.resolve(name);
        Files.createDirectories(target);
        for (String file : new String[] {"adapter.safetensors", "lolcats_config.json"}) {
            Files.copy(source.resolve(file), target.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    private static void edit(Path dir, String from, String to) throws IOException {
        Path config = dir.resolve("lolcats_config.json");
        String text = Files.readString(config);
        assertTrue(text.contains(from), "fixture changed: " + from);
        Files.writeString(config, text.replace(from, to));
    }

    private static BadInputException loadFails(Path adapter, String model) {
        return assertThrows(BadInputException.class,
                () -> Adapters.load(ModelLoader.load(ParityFixtures.path(model), ComputeType.F32), adapter));
    }

    @Test
    void unknownFeatureMap(@TempDir Path tmp) throws IOException {
        Path dir = copyAdapter(tmp, "llama-f32-sw");
        edit(dir, "\"softmax_dim\"", "\"cosine\"");
        String message = loadFails(dir, "models/llama-f32").getMessage();
        assertTrue(message.contains("lolcats_config.json") && message.contains("feature_map") && message.contains("cosine"), message);
    }

    @Test
    void unknownAttentionKind(@TempDir Path tmp) throws IOException {
        Path dir = copyAdapter(tmp, "llama-f32-sw");
        edit(dir, "\"hybrid_sw\"", "\"bogus\"");
        String message = loadFails(dir, "models/llama-f32").getMessage();
        assertTrue(message.contains("attention") && message.contains("bogus"), message);
    }

    @Test
    void unknownField(@TempDir Path tmp) throws IOException {
        Path dir = copyAdapter(tmp, "llama-f32-sw");
        edit(dir, "\"lora\": null", "\"lora\": null, \"temperature\": 2");
        String message = loadFails(dir, "models/llama-f32").getMessage();
        assertTrue(message.contains("temperature") && message.contains("unknown field"), message);
    }

    @Test
    void shapesThatDoNotFitTheModel(@TempDir Path tmp) throws IOException {
        // An adapter for a 6-head model applied to a 4-head one.
        Path dir = copyAdapter(tmp, "llama3-bf16-tied-sw-keep1");
        edit(dir, "\"softmax_layers\": [\n    1\n  ]", "\"softmax_layers\": []");
        String message = loadFails(dir, "models/llama-f32").getMessage();
        assertTrue(message.contains("adapter.safetensors") && message.contains("feature_map_q")
                && message.contains("expected shape [4, 16, 8]") && message.contains("[6, 16, 8]"), message);
    }

    @Test
    void featureDimThatDisagreesWithTheWeights(@TempDir Path tmp) throws IOException {
        Path dir = copyAdapter(tmp, "llama-f32-sw");
        edit(dir, "\"feature_dim\": 8", "\"feature_dim\": 16");
        String message = loadFails(dir, "models/llama-f32").getMessage();
        assertTrue(message.contains("expected shape [4, 16, 16]"), message);
    }
}
