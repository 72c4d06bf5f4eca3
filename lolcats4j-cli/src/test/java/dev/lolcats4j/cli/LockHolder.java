package dev.lolcats4j.cli;

import java.nio.file.Path;

/**
 * Holds the output lock of the folder given as argument from a separate JVM, as a concurrent
 * lolcats run would: prints "locked" once it has it, then waits to be killed.
 */
public final class LockHolder {

    public static void main(String[] args) throws Exception {
        Path target = OutputFolder.resolve(Path.of(args[0]));
        OutputLock lock = OutputLock.acquire(target.resolveSibling("." + target.getFileName() + ".lock"), "--out " + args[0]);
        System.out.println("locked");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
        lock.close();
    }
}
