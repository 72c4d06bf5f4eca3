package dev.lolcats4j.cli;

import dev.lolcats4j.io.Checksums;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * What a training command's result depends on, for its checkpoints: every option by its flag,
 * with file and folder options replaced by the checksum of their contents (a path spelled
 * differently is the same input; the same path with new contents is not). A resume whose
 * identity differs is refused naming the flag. Options that only say where or how often to
 * write ({@code --out}, {@code --resume}, {@code --force}, {@code --checkpoint-every}) are left out.
 */
final class RunIdentity {

    private static final Set<String> NOT_PART_OF_THE_RESULT = Set.of(
            "--out", "--resume", "--force", "--checkpoint-every", "--verbose", "--help", "--version", "--home",
            // which stages run, not what they compute (stage 2 records the stage-1 adapter it starts from)
            "--stage");

    private RunIdentity() {}

    static Map<String, String> of(CommandSpec spec) {
        Map<String, String> identity = new LinkedHashMap<>();
        for (OptionSpec option : spec.options()) {
            String name = option.longestName();
            if (NOT_PART_OF_THE_RESULT.contains(name) || option.usageHelp() || option.versionHelp()) {
                continue;
            }
            identity.put(name, value(option.getValue()));
        }
        return identity;
    }

    private static String value(Object value) {
        if (value instanceof Path path) {
            return Checksums.path(path);
        }
        if (value instanceof Collection<?> values && !values.isEmpty() && values.iterator().next() instanceof Path) {
            List<String> parts = new ArrayList<>();
            for (Object v : values) {
                parts.add(Checksums.path((Path) v));
            }
            return parts.size() == 1 ? parts.get(0) : Checksums.PREFIX + String.join(",", parts).replace(Checksums.PREFIX, "");
        }
        return String.valueOf(value);
    }
}
