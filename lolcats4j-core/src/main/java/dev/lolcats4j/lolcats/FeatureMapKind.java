package dev.lolcats4j.lolcats;

import dev.lolcats4j.BadInputException;
import java.nio.file.Path;
import java.util.Arrays;

/** Activations for the learned feature maps, with their lolcats_config.json names. */
public enum FeatureMapKind {
    /** Hedgehog: [softmax(xW), softmax(-xW)] over features; width 2F. */
    SOFTMAX_DIM("softmax_dim", 2),
    /** [exp(xW - max), exp(-xW + min)] per token; width 2F. */
    EXP_DIM("exp_dim", 2),
    /** relu(xW) (T2R); width F. */
    RELU("relu", 1),
    /** 1 + elu(xW); width F. */
    POS_ELU("pos_elu", 1);

    private final String configName;
    private final int widthMultiplier;

    FeatureMapKind(String configName, int widthMultiplier) {
        this.configName = configName;
        this.widthMultiplier = widthMultiplier;
    }

    public String configName() {
        return configName;
    }

    /** Output width for feature dimension F. */
    public int outputWidth(int featureDim) {
        return widthMultiplier * featureDim;
    }

    public static FeatureMapKind parse(String name, Path file) {
        for (FeatureMapKind kind : values()) {
            if (kind.configName.equals(name)) {
                return kind;
            }
        }
        throw BadInputException.at(file, "feature_map", "expected one of "
                + Arrays.stream(values()).map(FeatureMapKind::configName).toList() + ", found \"" + name + "\"");
    }
}
