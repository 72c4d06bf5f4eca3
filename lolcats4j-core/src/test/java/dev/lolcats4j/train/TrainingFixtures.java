package dev.lolcats4j.train;

import dev.lolcats4j.data.BadLinePolicy;
import dev.lolcats4j.data.DocumentReader;
import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.tokenizer.ByteLevelTokenizerFiles;
import dev.lolcats4j.tokenizer.HfTokenizer;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.torch.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/** Small models and data for training tests. */
final class TrainingFixtures {

    private TrainingFixtures() {}

    static ModelConfig tinyConfig() {
        return new ModelConfig("llama", ByteLevelTokenizerFiles.VOCAB_SIZE, 64, 128, 2, 4, 2, 16, 1e-5, 10000.0, null,
                false, false, false, false, ByteLevelTokenizerFiles.BOS, List.of(ByteLevelTokenizerFiles.EOS), 2048);
    }

    /** A random model whose attention is sharp enough to be worth matching. */
    static DecoderModel sharpRandomModel(long seed) {
        DecoderModel model = ModelFactory.random(tinyConfig(), ComputeType.F32, seed);
        for (DecoderLayer layer : model.layers()) {
            layer.projection("q_proj").weight().mul_(Tensors.scalar(2));
            layer.projection("k_proj").weight().mul_(Tensors.scalar(2));
        }
        model.embeddingWeight().mul_(Tensors.scalar(20));
        return model;
    }

    /** Pseudo-English text with repeated structure, deterministic for a seed. */
    static Path corpus(Path dir, int sentences, long seed) throws IOException {
        String[] subjects = {"the cat", "a dog", "my friend", "the old man", "a small bird", "the teacher"};
        String[] verbs = {"sees", "likes", "follows", "finds", "watches", "helps"};
        String[] objects = {"the ball", "a red box", "the river", "some bread", "the green tree", "a quiet house"};
        SplittableRandom random = new SplittableRandom(seed);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < sentences; i++) {
            text.append(subjects[random.nextInt(subjects.length)]).append(' ')
                    .append(verbs[random.nextInt(verbs.length)]).append(' ')
                    .append(objects[random.nextInt(objects.length)]).append(". ");
            if (i % 8 == 7) {
                text.append("\n\n");
            }
        }
        Path file = dir.resolve("corpus.txt");
        Files.writeString(file, text.toString());
        return file;
    }

    static Tokenizer byteTokenizer(Path dir) {
        ByteLevelTokenizerFiles.write(dir);
        return HfTokenizer.load(dir);
    }

    static PackedDataset pack(Tokenizer tokenizer, Path file, int length) {
        PackedDataset.Packer packer = PackedDataset.packer(length);
        new DocumentReader(tokenizer, BadLinePolicy.FAIL, message -> { }).read(List.of(file), packer);
        return packer.finish(0.1, 7);
    }
}
