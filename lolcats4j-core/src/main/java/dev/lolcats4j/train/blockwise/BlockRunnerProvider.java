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
     * Checks the settings without starting anything, throwing {@link dev.lolcats4j.BadInputException}
     * for bad ones; called while options are validated, before any work starts.
     */
    default void validate(RunnerSettings settings) {}

    /** Creates the runner (after {@link #validate}). */
    BlockRunner create(RunnerSettings settings);
}
