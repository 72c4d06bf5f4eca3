package dev.lolcats4j.kernels;

/**
 * Whether the Java Vector API kernels of this package can run, and the switch that turns them
 * off. They need JDK 22 or later (the final foreign-memory API, to read libtorch's weight
 * buffers in place) and {@code --add-modules jdk.incubator.vector}; the {@code lolcats}
 * launcher and the build's tests pass both. Without them every caller falls back to libtorch.
 *
 * <p>This class must not touch any {@code jdk.incubator.vector} type: it is what callers ask
 * before the classes that do are loaded.
 */
public final class VectorKernels {

    /** System property; {@code off} disables the kernels (as does {@code LOLCATS_KERNELS=off}). */
    public static final String PROPERTY = "lolcats.kernels";

    private static final String UNAVAILABLE = unavailableReason();
    private static volatile boolean enabled = !"off".equalsIgnoreCase(setting());

    private VectorKernels() {}

    /** True when the kernels can run here and nobody turned them off. */
    public static boolean enabled() {
        return enabled && UNAVAILABLE == null;
    }

    /** Turns the kernels on or off for this process (benchmarks compare both paths). */
    public static void setEnabled(boolean on) {
        enabled = on;
    }

    /** Why the kernels cannot run in this JVM, or null when they can. */
    public static String unavailableReason() {
        if (Runtime.version().feature() < 22) {
            return "JDK " + Runtime.version().feature() + " (the kernels need JDK 22 or later)";
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "the JVM was started without --add-modules jdk.incubator.vector";
        }
        return null;
    }

    private static String setting() {
        String value = System.getProperty(PROPERTY);
        return value != null ? value : System.getenv("LOLCATS_KERNELS");
    }
}
