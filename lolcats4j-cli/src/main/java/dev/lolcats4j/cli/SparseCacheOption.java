package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.lolcats.AdapterConfigJson;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.lolcats.AttentionKind;
import dev.lolcats4j.model.DecoderModel;
import picocli.CommandLine.Option;

/**
 * {@code --sparse-cache C}: a mixin for the commands that run a linearized model (score, generate,
 * eval). It overrides the adapter's own {@code sparse_cache}; see docs/sparse-cache.md.
 */
public final class SparseCacheOption {

    /** Far beyond any useful cache (the softmax KV cache of a 1M-token context). */
    static final int MAX_PAIRS = 1 << 20;

    @Option(names = "--sparse-cache", converter = Flags.CachePairs.class, paramLabel = "C",
            description = "Keep the C key-value pairs per head that the linear state recalls worst in softmax "
                    + "(LoLA-style, training-free; hybrid_sw adapters only; default: the adapter's sparse_cache, else 0).")
    Integer pairs;

    /** Checks that the model's adapter can take a cache, without loading weights (the range is the converter's). */
    void validate(ModelOptions model) {
        if (pairs == null) {
            return;
        }
        if (pairs > 0) {
            var adapter = model.adapterDir().orElseThrow(() -> new BadInputException(
                    "--sparse-cache: needs a LoLCATs adapter (--adapter DIR, or one inside the model folder)"));
            AttentionKind kind = AdapterConfigJson.read(adapter).attention();
            if (kind != AttentionKind.HYBRID_SW) {
                throw new BadInputException("--sparse-cache: needs hybrid_sw attention, " + adapter + " has "
                        + kind.configName());
            }
        }
    }

    /** The override, or 0 when the flag is absent. */
    int pairsOrZero() {
        return pairs == null ? 0 : pairs;
    }

    /** Applies the override to a loaded model (nothing when the flag is absent). */
    void apply(DecoderModel model) {
        if (pairs != null) {
            Adapters.setSparseCache(model, pairs);
        }
    }
}
