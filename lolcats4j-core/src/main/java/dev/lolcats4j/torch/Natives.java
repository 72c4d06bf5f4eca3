package dev.lolcats4j.torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.bytedeco.javacpp.Loader;

/**
 * The one place that prepares libtorch's native libraries.
 *
 * <p>With an empty JavaCPP cache, the first process that touched a libtorch class crashed
 * (SIGSEGV in pthread_mutex_lock while loading libtorch_cpu.so). Extracting every native
 * library into the cache first, without loading any, avoids it; so {@link #init()} does
 * exactly that before any {@code org.bytedeco.pytorch} class is initialised, then sets the
 * intra-op thread count.
 */
public final class Natives {

    private static final String[] NATIVE_FOLDERS = {
        "/org/bytedeco/javacpp/linux-x86_64/",
        "/org/bytedeco/openblas/linux-x86_64/",
        "/org/bytedeco/pytorch/linux-x86_64/",
    };

    private static volatile boolean ready;

    private Natives() {}

    /** Extracts and loads libtorch once per process; cheap after the first call. */
    public static void init() {
        if (ready) {
            return;
        }
        synchronized (Natives.class) {
            if (ready) {
                return;
            }
            try {
                for (String folder : NATIVE_FOLDERS) {
                    Loader.cacheResources(Natives.class, folder);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("could not extract libtorch natives to the JavaCPP cache", e);
            }
            org.bytedeco.pytorch.global.torch.set_num_threads(threads());
            ready = true;
        }
    }

    /** Intra-op threads: LOLCATS_THREADS, else OMP_NUM_THREADS, else all processors. */
    public static int threads() {
        for (String name : new String[] {"LOLCATS_THREADS", "OMP_NUM_THREADS"}) {
            String value = System.getenv(name);
            if (value != null && !value.isBlank()) {
                try {
                    return Math.max(1, Integer.parseInt(value.trim()));
                } catch (NumberFormatException ignored) {
                    // fall through to the next source
                }
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }
}
