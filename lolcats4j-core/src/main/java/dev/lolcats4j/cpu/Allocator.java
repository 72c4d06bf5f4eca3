package dev.lolcats4j.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Which malloc serves libtorch's CPU tensors in this process. glibc returns large freed blocks
 * to the kernel and takes them back zero-filled on the next training step (about a tenth of a
 * step in page faults on the 2-core EPYC we measured); tcmalloc keeps them, and the launcher
 * preloads it where it is installed (docs/performance.md, "Allocator"). Reported beside every
 * benchmark figure because it moves them.
 */
public final class Allocator {

    private static final String[] KNOWN = {"tcmalloc", "jemalloc", "mimalloc"};

    private Allocator() {}

    /** e.g. "tcmalloc (/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4)" or "glibc malloc". */
    public static String inUse() {
        try {
            return fromMaps(Files.readAllLines(Path.of("/proc/self/maps")));
        } catch (IOException | RuntimeException e) {
            return "unknown (no /proc/self/maps)";
        }
    }

    /** The allocator named by the mapped libraries of {@code /proc/self/maps} lines. */
    static String fromMaps(List<String> mapsLines) {
        for (String line : mapsLines) {
            int slash = line.indexOf('/');
            if (slash < 0) {
                continue;
            }
            String path = line.substring(slash);
            String file = path.substring(path.lastIndexOf('/') + 1);
            for (String name : KNOWN) {
                if (file.startsWith("lib" + name)) {
                    return name + " (" + path + ")";
                }
            }
        }
        return "glibc malloc";
    }
}
