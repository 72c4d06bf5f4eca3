package dev.lolcats4j.train.blockwise;

/**
 * A named kind of {@link BlockRunner}, registered with {@link java.util.ServiceLoader} in
 * {@code META-INF/services/dev.lolcats4j.train.blockwise.BlockRunnerProvider}. The CLI's
 * {@code --runner NAME} picks the provider whose {@link #name()} matches.
 */
public interface BlockRunnerProvider {

    /** "local", "spark", ... (lower case). */
    String name();

    /**
     * Checks the settings (throwing {@link dev.lolcats4j.BadInputException} for bad ones)
     * before any work starts, and creates the runner.
     */
    BlockRunner create(RunnerSettings settings);
}
