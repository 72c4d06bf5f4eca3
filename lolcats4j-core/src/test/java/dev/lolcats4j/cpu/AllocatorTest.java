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
}
