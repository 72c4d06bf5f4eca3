package dev.lolcats4j.train;

import dev.lolcats4j.train.blockwise.BlockJob;
import dev.lolcats4j.train.blockwise.BlockJobSpec;
import java.io.ObjectInputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One block job in its own JVM, from a Java-serialised {@link BlockJobSpec} (as a Spark
 * executor receives it), so that a test can kill it with SIGKILL. Arguments: spec file,
 * milliseconds to pause per step.
 */
public final class BlockJobProbe {

    public static void main(String[] args) throws Exception {
        BlockJobSpec spec;
        try (ObjectInputStream in = new ObjectInputStream(Files.newInputStream(Path.of(args[0])))) {
            spec = (BlockJobSpec) in.readObject();
        }
        long pauseMillis = Long.parseLong(args[1]);
        BlockJob.run(spec, (step, max, loss, eval, lr, tps) -> {
            try {
                Thread.sleep(pauseMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        System.exit(0);
    }
}
