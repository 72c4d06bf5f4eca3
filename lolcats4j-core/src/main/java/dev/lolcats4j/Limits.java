package dev.lolcats4j;

/**
 * Upper bounds on sizes a user can ask for, shared by the command-line checks and the file
 * readers (lolcats_config.json, config.json). They are far above anything the method uses
 * (the reference trains at 1,024 tokens with a 64-token window, F = 64, rank 8) and low enough
 * that a typo such as {@code --window 1000000000} is refused up front instead of asking
 * libtorch for gigabytes of padding.
 */
public final class Limits {

    /** Longest sequence, in tokens, for training, scoring windows and generation. */
    public static final int MAX_TOKENS = 1 << 20;

    /** Largest sliding-window size W (the decode cache holds W, or 2W, keys per layer). */
    public static final int MAX_WINDOW = 1 << 16;

    /** Largest feature-map dimension F. */
    public static final int MAX_FEATURE_DIM = 1 << 14;

    /** Largest LoRA rank. */
    public static final int MAX_LORA_RANK = 1 << 16;

    private Limits() {}
}
