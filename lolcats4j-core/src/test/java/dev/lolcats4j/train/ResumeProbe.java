package dev.lolcats4j.train;

import dev.lolcats4j.data.PackedDataset;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.nio.file.Path;

/**
 * A stage-1 run in its own JVM, so that a test can kill it with SIGKILL and resume it.
 * Arguments: work folder, output folder, "resume" or "fresh", milliseconds to pause per step.
 */
public final class ResumeProbe {

    static final int STEPS = 40;

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        Path out = Path.of(args[1]);
        boolean resume = args[2].equals("resume");
        long pauseMillis = Long.parseLong(args[3]);
        try (Tokenizer tokenizer = TrainingFixtures.byteTokenizer(work)) {
            PackedDataset data = TrainingFixtures.pack(tokenizer, TrainingFixtures.corpus(work, 300, 9), 32);
            DecoderModel model = TrainingFixtures.sharpRandomModel(21);
            Adapters.convert(model, TrainingTest.SMALL);
            TrainConfig config = new TrainConfig(STEPS, 1e-2, 0, 4, 2, "plateau", 0, 1e-5, 0.5, 1, 0, 5, 2, 2, 42);
            TrainListener slow = (step, max, loss, eval, lr, tps) -> {
                try {
                    Thread.sleep(pauseMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            new TrainLoop(new AttentionTransfer(model, TrainingTest.SMALL), data, config, out, slow).run(resume);
        }
        System.exit(0);
    }
}
