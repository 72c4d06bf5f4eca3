package dev.lolcats4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class AllocatorTest {

    @Test
    void aPreloadedTcmallocIsNamedWithItsPath() {
        List<String> maps = List.of(
                "7f0c1a000000-7f0c1a021000 r-xp 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6",
                "7f0c1b000000-7f0c1b040000 r-xp 00000000 08:01 5678 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10",
                "7ffd5c000000-7ffd5c021000 rw-p 00000000 00:00 0 [stack]");
        assertEquals("tcmalloc (/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10)", Allocator.fromMaps(maps));
    }

    @Test
    void withoutAKnownAllocatorItIsGlibcEvenWhenAFolderIsNamedLikeOne() {
        List<String> maps = List.of(
                "7f0c1a000000-7f0c1a021000 r-xp 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6",
                "7f0c1c000000-7f0c1c021000 r-xp 00000000 08:01 99 /home/u/libtcmalloc-notes/libtorch_cpu.so",
                "7ffd5c000000-7ffd5c021000 rw-p 00000000 00:00 0 [heap]");
        assertEquals("glibc malloc", Allocator.fromMaps(maps));
    }

    @Test
    void releasingFreeMemoryGivesFreedSmallBlocksBackToTheKernel() throws Exception {
        // The test JVM runs on glibc (surefire does not go through the launcher): many small
        // blocks, written and freed, stay resident in malloc's arenas until malloc_trim.
        org.junit.jupiter.api.Assumptions.assumeTrue(Allocator.inUse().equals("glibc malloc"), Allocator.inUse());
        org.bytedeco.javacpp.BytePointer[] blocks = new org.bytedeco.javacpp.BytePointer[200_000];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = new org.bytedeco.javacpp.BytePointer(1024);
            blocks[i].fill(1);
        }
        for (org.bytedeco.javacpp.BytePointer block : blocks) {
            block.deallocate();
        }
        long before = residentKib();
        assertEquals(true, Allocator.releaseFreeMemory());
        long after = residentKib();
        // ~200 MiB were freed; at least a quarter of it must leave the resident set.
        assertEquals(true, before - after > 50 * 1024, "VmRSS " + before + " KiB -> " + after + " KiB");
    }

    private static long residentKib() throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS");
    }
}
