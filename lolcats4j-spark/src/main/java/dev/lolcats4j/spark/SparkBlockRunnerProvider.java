package dev.lolcats4j.spark;

import dev.lolcats4j.train.blockwise.BlockRunner;
import dev.lolcats4j.train.blockwise.BlockRunnerProvider;
import dev.lolcats4j.train.blockwise.RunnerSettings;

/** The "spark" entry for {@code --runner}: checks {@code --master}, then creates a {@link SparkBlockRunner}. */
public final class SparkBlockRunnerProvider implements BlockRunnerProvider {

    @Override
    public String name() {
        return SparkBlockRunner.NAME;
    }

    @Override
    public void validate(RunnerSettings settings) {
        if (settings.master() != null) {
            SparkMasters.check(settings.master());
        }
    }

    @Override
    public BlockRunner create(RunnerSettings settings) {
        return new SparkBlockRunner(settings.master());
    }
}
