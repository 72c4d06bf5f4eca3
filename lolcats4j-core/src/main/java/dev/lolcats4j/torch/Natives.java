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

    /** Threads whose CPU already flushes denormal floats to zero (see {@link #init}). */
    private static final ThreadLocal<Boolean> FLUSHING = ThreadLocal.withInitial(() -> false);

    /**
     * Extracts and loads libtorch once per process, and makes the calling thread flush denormal
     * floats to zero; cheap after the first call on a thread.
     *
     * <p>Why denormals: once a model learns sharp attention, softmax weights and their gradients
     * fall below 1.2e-38, where x86 floating point takes a microcode assist per operation. A
     * pretraining run slowed from ~1,850 to ~600 tokens/s after 130 steps that way. The flag
     * lives in each thread's MXCSR register, and OpenMP workers inherit it from the thread that
     * starts them, so every thread that runs libtorch work calls this first.
     */
    public static void init() {
        if (ready) {
            flushDenormalsOnThisThread();
            return;
        }
        synchronized (Natives.class) {
            if (ready) {
                flushDenormalsOnThisThread();
                return;
            }
            try {
                for (String folder : NATIVE_FOLDERS) {
                    Loader.cacheResources(Natives.class, folder);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("could not extract libtorch natives to the JavaCPP cache", e);
            }
            flushDenormalsOnThisThread();
            org.bytedeco.pytorch.global.torch.set_num_threads(threads());
            ready = true;
        }
    }

    /** Sets flush-to-zero and denormals-are-zero for this thread, once; no-op where unsupported. */
    private static void flushDenormalsOnThisThread() {
        if (!FLUSHING.get()) {
            org.bytedeco.pytorch.Context.setFlushDenormal(true);
            FLUSHING.set(true);
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
