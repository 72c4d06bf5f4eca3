package dev.lolcats4j.server;

import dev.lolcats4j.lolcats.HybridAttention;
import dev.lolcats4j.model.DecodePath;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The one model a server serves, with what requests need beside it: its id (as clients name
 * it), tokenizer and chat template (both optional), context limit and the decode path chosen
 * for it. Closing it closes the model and the tokenizer.
 */
public final class ServedModel implements AutoCloseable {

    private final String id;
    private final DecoderModel model;
    private final Optional<Tokenizer> tokenizer;
    private final Optional<ChatTemplate> chatTemplate;
    private final int maxContextTokens;
    private final DecodePath decodePath;

    /**
     * Takes ownership of the model and tokenizer, and pins the model's decode path (waiting
     * for the kernels' warm-up if they are used), reporting it to {@code log}.
     */
    public ServedModel(String id, DecoderModel model, Optional<Tokenizer> tokenizer, Optional<ChatTemplate> chatTemplate,
            Consumer<String> log) {
        this.id = id;
        this.model = model;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.maxContextTokens = model.config().maxPositionEmbeddings();
        this.decodePath = model.pinDecodePath();
        log.accept("model " + id + ": decode path " + decodePath.name().toLowerCase(java.util.Locale.ROOT)
                + (decodePath == DecodePath.KERNELS ? " (Java Vector API kernels, dense work batched across sequences)"
                        : " (libtorch; sequences step one after another)")
                + ", context " + maxContextTokens + " tokens, "
                + (isLinearized() ? "LoLCATs state " + stateBytesPerSession() / 1024 + " KiB per session"
                        : "KV cache " + kvBytesPerToken() + " bytes per token per session"));
    }

    public String id() {
        return id;
    }

    public DecoderModel model() {
        return model;
    }

    public Optional<Tokenizer> tokenizer() {
        return tokenizer;
    }

    public Optional<ChatTemplate> chatTemplate() {
        return chatTemplate;
    }

    public int maxContextTokens() {
        return maxContextTokens;
    }

    public DecodePath decodePath() {
        return decodePath;
    }

    /** True when every layer is LoLCATs attention (constant-size state per sequence). */
    public boolean isLinearized() {
        return model.layers().stream().allMatch(l -> l.attention() instanceof HybridAttention);
    }

    /** Key/value bytes one token adds in every softmax layer (float32 keys and values). */
    public long kvBytesPerToken() {
        ModelConfig c = model.config();
        long softmaxLayers = model.layers().stream().filter(l -> !(l.attention() instanceof HybridAttention)).count();
        return softmaxLayers * 2L * c.numKvHeads() * c.headDim() * 4;
    }

    /**
     * Bytes of the fixed-size LoLCATs state of one sequence over all hybrid layers: S and z
     * per query head, and the window's keys, values and flags (see HybridState).
     */
    public long stateBytesPerSession() {
        ModelConfig c = model.config();
        long total = 0;
        for (DecoderLayer layer : model.layers()) {
            if (layer.attention() instanceof HybridAttention h) {
                long fw = h.params().featureK().outputWidth();
                long window = switch (h.params().kind()) {
                    case HYBRID_SW -> h.params().window();
                    case HYBRID_TK -> 2L * h.params().window();
                    case LINEAR -> 1;
                };
                total += 4L * (c.numHeads() * fw * c.headDim() + c.numHeads() * fw
                        + 2L * c.numKvHeads() * window * c.headDim() + window);
            }
        }
        return total;
    }

    /**
     * The most memory one session's caches can take: the state, plus a KV cache for the whole
     * context in softmax layers (whose buffers double as they grow, so up to twice that).
     */
    public long worstCaseBytesPerSession() {
        return stateBytesPerSession() + 2L * kvBytesPerToken() * maxContextTokens;
    }

    @Override
    public void close() {
        model.close();
        tokenizer.ifPresent(Tokenizer::close);
    }
}
