package dev.lolcats4j.cpu;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Which malloc serves libtorch's CPU tensors in this process. glibc returns large freed blocks
 * to the kernel and takes them back zero-filled on the next training step (about a tenth of a
 * step in page faults on the 2-core EPYC we measured); tcmalloc keeps them, and the launcher
 * preloads it where it is installed (docs/performance.md, "Allocator"). Reported beside every
 * benchmark figure because it moves them; {@link #releaseFreeMemory} lets a benchmark read a
 * phase's peak resident memory without the free blocks that an earlier phase left cached.
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

    /**
     * Hands the allocator's cached free memory back to the kernel: tcmalloc's
     * {@code MallocExtension_ReleaseFreeMemory}, glibc's {@code malloc_trim(0)}. Called through
     * the foreign-function API of the running JDK (>= 22; the sources are Java 21, where it was a
     * preview, hence reflection). Returns false, having done nothing, where that is not possible.
     */
    public static boolean releaseFreeMemory() {
        String inUse = inUse();
        try {
            if (inUse.startsWith("tcmalloc (")) {
                String library = inUse.substring("tcmalloc (".length(), inUse.length() - 1);
                return call(Optional.of(library), "MallocExtension_ReleaseFreeMemory", false);
            }
            return inUse.equals("glibc malloc") && call(Optional.empty(), "malloc_trim", true);
        } catch (Throwable e) {
            return false;
        }
    }

    /** Calls {@code void name(void)}, or {@code int name(size_t 0)} when {@code trimZero}, from the library or libc. */
    private static boolean call(Optional<String> library, String name, boolean trimZero) throws Throwable {
        Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
        Class<?> lookupClass = Class.forName("java.lang.foreign.SymbolLookup");
        Class<?> arenaClass = Class.forName("java.lang.foreign.Arena");
        Class<?> segmentClass = Class.forName("java.lang.foreign.MemorySegment");
        Class<?> layoutClass = Class.forName("java.lang.foreign.MemoryLayout");
        Class<?> descriptorClass = Class.forName("java.lang.foreign.FunctionDescriptor");
        Class<?> optionClass = Class.forName("java.lang.foreign.Linker$Option");
        Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
        Object lookup = library.isPresent()
                ? lookupClass.getMethod("libraryLookup", Path.class, arenaClass).invoke(null, Path.of(library.get()),
                        arenaClass.getMethod("global").invoke(null))
                : linkerClass.getMethod("defaultLookup").invoke(linker);
        Optional<?> symbol = (Optional<?>) lookupClass.getMethod("find", String.class).invoke(lookup, name);
        if (symbol.isEmpty()) {
            return false;
        }
        Object layouts = Array.newInstance(layoutClass, trimZero ? 1 : 0);
        Object descriptor;
        if (trimZero) {
            Object jlong = Class.forName("java.lang.foreign.ValueLayout").getField("JAVA_LONG").get(null);
            Object jint = Class.forName("java.lang.foreign.ValueLayout").getField("JAVA_INT").get(null);
            Array.set(layouts, 0, jlong);
            descriptor = descriptorClass.getMethod("of", layoutClass, layouts.getClass()).invoke(null, jint, layouts);
        } else {
            descriptor = descriptorClass.getMethod("ofVoid", layouts.getClass()).invoke(null, layouts);
        }
        MethodHandle handle = (MethodHandle) linkerClass.getMethod("downcallHandle", segmentClass, descriptorClass,
                Array.newInstance(optionClass, 0).getClass()).invoke(linker, symbol.get(), descriptor, Array.newInstance(optionClass, 0));
        if (trimZero) {
            handle.invokeWithArguments(0L);
        } else {
            handle.invokeWithArguments();
        }
        return true;
    }
}
