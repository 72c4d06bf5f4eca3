package dev.lolcats4j.train.blockwise;

import dev.lolcats4j.BadInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

/** Finds a {@link BlockRunnerProvider} by name among those on the classpath. */
public final class BlockRunners {

    private BlockRunners() {}

    /** Names of the runners on the classpath ("local" always). */
    public static List<String> available() {
        List<String> names = new ArrayList<>();
        for (BlockRunnerProvider p : ServiceLoader.load(BlockRunnerProvider.class)) {
            names.add(p.name());
        }
        if (!names.contains(LocalBlockRunner.NAME)) {
            names.add(0, LocalBlockRunner.NAME);
        }
        return names;
    }

    /** The provider named {@code name}; a {@link BadInputException} (exit 2) naming the flag when there is none. */
    public static BlockRunnerProvider find(String name) {
        String wanted = name.toLowerCase(Locale.ROOT);
        if (wanted.equals(LocalBlockRunner.NAME)) {
            return new LocalBlockRunner.Provider();
        }
        for (BlockRunnerProvider p : ServiceLoader.load(BlockRunnerProvider.class)) {
            if (p.name().equals(wanted)) {
                return p;
            }
        }
        String hint = wanted.equals("spark")
                ? " (the spark runner lives in the lolcats4j-spark module: put its jar on the classpath, or use the shaded lolcats4j-spark jar)"
                : "";
        throw new BadInputException("--runner: expected one of " + available() + ", found \"" + name + "\"" + hint);
    }
}
