package dev.lolcats4j.lolcats;

import dev.lolcats4j.BadInputException;
import java.nio.file.Path;
import java.util.Arrays;

/** Which keys go to the softmax window and which to the linear part. */
public enum AttentionKind {
    /** Sliding window of the last W keys, linear attention before it (the default). */
    HYBRID_SW("hybrid_sw"),
    /** Terrace: own W-block plus the previous block, blocks aligned to the sequence end. */
    HYBRID_TK("hybrid_tk"),
    /** Pure linear attention, no window (the Hedgehog ablation). */
    LINEAR("linear");

    private final String configName;

    AttentionKind(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    public static AttentionKind parse(String name, Path file) {
        for (AttentionKind kind : values()) {
            if (kind.configName.equals(name)) {
                return kind;
            }
        }
        throw BadInputException.at(file, "attention", "expected one of "
                + Arrays.stream(values()).map(AttentionKind::configName).toList() + ", found \"" + name + "\"");
    }
}
