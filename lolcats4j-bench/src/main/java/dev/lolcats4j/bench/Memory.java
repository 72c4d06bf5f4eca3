package dev.lolcats4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident set size of this process, from /proc/self/status (Linux). */
final class Memory {

    private Memory() {}

    /** VmRSS in bytes, or -1 where /proc is not available. */
    static long residentBytes() {
        return status("VmRSS:");
    }

    /** VmHWM (peak resident set since start or since {@link #resetPeak()}) in bytes, or -1. */
    static long peakResidentBytes() {
        return status("VmHWM:");
    }

    /**
     * Resets VmHWM to the current RSS (Linux: "5" into /proc/self/clear_refs), after the
     * allocator has handed its cached free blocks back to the kernel (tcmalloc keeps them, and
     * they would count in the next phase's peak); false where the reset is not possible.
     */
    static boolean resetPeak() {
        dev.lolcats4j.cpu.Allocator.releaseFreeMemory();
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** MemTotal in bytes, or -1. */
    static long totalBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.substring(9).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    String[] parts = line.substring(field.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }
}
