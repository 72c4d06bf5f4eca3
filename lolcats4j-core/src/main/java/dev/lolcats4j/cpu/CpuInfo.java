package dev.lolcats4j.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the CPU says about itself: model name, architecture, feature flags and core count,
 * read from /proc/cpuinfo on Linux (other systems: the model is "unknown" and no flags).
 *
 * @param modelName "model name" (x86) or "Hardware"/"CPU part" (ARM), else "unknown"
 * @param architecture {@code os.arch}, e.g. amd64 or aarch64
 * @param flags every flag of the first processor ("flags" on x86, "Features" on ARM)
 * @param cores processors the JVM may use
 */
public record CpuInfo(String modelName, String architecture, Set<String> flags, int cores) {

    /** The flags that decide the matmul paths, in the order they are reported. */
    public static final List<String> KEY_FLAGS = List.of("amx_bf16", "amx_tile", "avx512_bf16", "avx512f", "avx2", "fma",
            "bf16", "sve", "asimd");

    public CpuInfo {
        flags = Set.copyOf(flags);
    }

    /** This machine's CPU. */
    public static CpuInfo current() {
        String arch = System.getProperty("os.arch", "unknown");
        int cores = Runtime.getRuntime().availableProcessors();
        Path file = Path.of("/proc/cpuinfo");
        try {
            if (Files.isReadable(file)) {
                return parse(Files.readString(file), arch, cores);
            }
        } catch (IOException | RuntimeException e) {
            // Unreadable: no flags, so the dtype rule falls back to float32.
        }
        return new CpuInfo("unknown", arch, Set.of(), cores);
    }

    /** Parses the text of /proc/cpuinfo (only its first processor block is read). */
    public static CpuInfo parse(String cpuinfo, String architecture, int cores) {
        String model = null;
        String hardware = null;
        Set<String> flags = new TreeSet<>();
        for (String line : cpuinfo.split("\n")) {
            if (line.isBlank() && (model != null || !flags.isEmpty())) {
                break; // end of the first processor's block
            }
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            switch (key) {
                case "model name" -> model = value;
                case "hardware", "cpu part" -> hardware = hardware == null ? value : hardware;
                case "flags", "features" -> flags.addAll(Arrays.asList(value.toLowerCase(Locale.ROOT).split("\\s+")));
                default -> { }
            }
        }
        flags.remove("");
        String name = model != null ? model : hardware != null ? hardware : "unknown";
        return new CpuInfo(name, architecture, flags, cores);
    }

    public boolean has(String flag) {
        return flags.contains(flag);
    }

    /**
     * True if the CPU has bf16 dot-product instructions, so libtorch's bf16 GEMM can run
     * natively: AMX or AVX512-BF16 on x86, the BF16 extension on ARM. Without them libtorch
     * emulates bf16 (measured 1.3 GFLOP/s against 91 in float32 on an AVX2-only EPYC).
     */
    public boolean nativeBf16() {
        return has("amx_bf16") || has("avx512_bf16") || (isArm() && has("bf16"));
    }

    public boolean isArm() {
        return architecture.equals("aarch64") || architecture.equals("arm64");
    }

    /** The key flags present, space-separated (e.g. "amx_bf16 amx_tile avx512_bf16 avx512f avx2 fma"). */
    public String keyFlags() {
        return String.join(" ", KEY_FLAGS.stream().filter(flags::contains).toList());
    }

    /** One line: model, architecture, cores, key flags. */
    public String summary() {
        String key = keyFlags();
        return String.format(Locale.ROOT, "%s (%s, %d cores; %s)", modelName, architecture, cores,
                key.isEmpty() ? "none of " + String.join("/", KEY_FLAGS) : key);
    }
}
