package dev.lolcats4j.train.blockwise;

/**
 * Settings handed to a {@link BlockRunnerProvider}.
 *
 * @param master Spark master URL ({@code local[*]}, {@code spark://host:port}...); null = the runner's default
 * @param parallelism blocks trained at once by the local runner (1 = sequential); others may ignore it
 */
public record RunnerSettings(String master, int parallelism) {

    public static RunnerSettings defaults() {
        return new RunnerSettings(null, 1);
    }
}
