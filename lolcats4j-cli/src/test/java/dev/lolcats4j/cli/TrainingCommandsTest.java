package dev.lolcats4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pretrain then linearize end to end on a tiny model, and their input errors. */
class TrainingCommandsTest {

    private static Path corpus(Path dir) throws IOException {
        return TinyCorpus.write(dir, 400);
    }

    @Test
    void pretrainThenLinearizeProducesAModelAndAnAdapterThatScore(@TempDir Path tmp) throws IOException {
        Path data = corpus(tmp);
        Path teacher = tmp.resolve("teacher");
        Cli.run("pretrain", "--data", data.toString(), "--out", teacher.toString(), "--seq-len", "32", "--steps", "6",
                "--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--intermediate", "64",
                "--batch", "4", "--micro-batch", "4").assertOk();
        for (String file : List.of("config.json", "model.safetensors", "tokenizer.json", "train/metrics.csv", "train/loss.png")) {
            assertTrue(Files.isRegularFile(teacher.resolve(file)), file);
        }
        // The length it was trained at, not a default: eval's default context stays within it.
        assertEquals(32, Cli.JSON.readTree(teacher.resolve("config.json").toFile()).get("max_position_embeddings").asInt());

        Path adapter = tmp.resolve("adapter");
        Cli.Result r = Cli.run("linearize", "--model", teacher.toString(), "--data", data.toString(), "--out", adapter.toString(),
                "--seq-len", "32", "--feature-dim", "4", "--window", "8", "--transfer-steps", "4", "--lora-steps", "3",
                "--batch", "2", "--micro-batch", "2", "--eval-every", "2", "--checkpoint-every", "2", "--lora-rank", "2");
        r.assertOk();
        assertTrue(r.out().contains("stage 1 (attention transfer): 4 steps"), r.out());
        assertTrue(r.out().contains("stage 2 (LoRA): 3 steps"), r.out());
        JsonNode config = Cli.JSON.readTree(adapter.resolve("lolcats_config.json").toFile());
        assertEquals(2, config.get("lora").get("rank").asInt());
        assertEquals(5, Files.readAllLines(adapter.resolve("stage1/metrics.csv")).size(), "header + 4 steps");

        // The adapter applies: score prints one logprob per token pair.
        Cli.Result score = Cli.run("score", "--model", teacher.toString(), "--adapter", adapter.toString(), "--text", "the whale", "--json");
        score.assertOk();
        assertEquals(score.json().get("token_ids").size() - 1, score.json().get("logprobs").size());

        // A finished run resumed does no more steps and keeps its adapter.
        Cli.run("linearize", "--model", teacher.toString(), "--data", data.toString(), "--out", adapter.toString(),
                "--seq-len", "32", "--feature-dim", "4", "--window", "8", "--transfer-steps", "4", "--lora-steps", "3",
                "--batch", "2", "--micro-batch", "2", "--eval-every", "2", "--checkpoint-every", "2", "--lora-rank", "2",
                "--resume").assertOk();
        assertEquals(5, Files.readAllLines(adapter.resolve("stage1/metrics.csv")).size(), "no extra rows after resume");
    }

    @Test
    void linearizeInputErrors(@TempDir Path tmp) throws IOException {
        Path data = corpus(tmp);
        // The parity model has no tokenizer.json: linearize cannot read text.
        String message = Cli.run("linearize", "--model", Cli.model().toString(), "--data", data.toString(), "--out",
                tmp.resolve("a").toString()).assertBadInput();
        assertTrue(message.contains("tokenizer.json"), message);
        message = Cli.run("linearize", "--model", Cli.model().toString(), "--data", data.toString(), "--out",
                tmp.resolve("a").toString(), "--stage", "both").assertBadInput();
        assertTrue(message.contains("--stage"), message);
        message = Cli.run("linearize", "--model", Cli.model().toString(), "--data", data.toString(), "--out",
                tmp.resolve("a").toString(), "--stage", "lora").assertBadInput();
        assertTrue(message.contains("--adapter"), message);
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"fine\"}\nnot json\n");
        message = Cli.run("pretrain", "--data", bad.toString(), "--out", tmp.resolve("p").toString(), "--steps", "1").assertOnlyBadInput();
        assertTrue(message.contains("bad.jsonl:2"), message);
    }
}
