package dev.lolcats4j.model;

/** How a model's decode steps (one new token per sequence) run. */
public enum DecodePath {
    /** The Java Vector API kernels over the weights in place (see VectorDecoder). */
    KERNELS,
    /** libtorch's ops, as for a prefill. */
    LIBTORCH
}
