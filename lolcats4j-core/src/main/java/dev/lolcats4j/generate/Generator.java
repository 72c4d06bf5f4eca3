package dev.lolcats4j.generate;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.kernels.WarmUp;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Generation: one parallel prefill of the prompt, then one token at a time from the layer
 * caches (a KV cache for softmax layers, an O(1) recurrent state for hybrid layers).
 */
public final class Generator {

    private final DecoderModel model;

    public Generator(DecoderModel model) {
        this.model = model;
    }

    /** Generates after one prompt; {@code onToken} sees each new id as it is produced. */
    public int[] generate(int[] prompt, SamplingConfig config, IntConsumer onToken) {
        return generateBatch(List.of(prompt), config, onToken).get(0);
    }

    /**
     * Generates after several prompts of different lengths at once (left padding). Each
     * sequence stops at its own EOS; {@code onToken} fires for sequence 0 only.
     */
    public List<int[]> generateBatch(List<int[]> prompts, SamplingConfig config, IntConsumer onToken) {
        int batch = prompts.size();
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        if (longest == 0 || prompts.stream().anyMatch(p -> p.length == 0)) {
            throw new BadInputException("prompt: expected at least one token");
        }
        long[] ids = new long[batch * longest];
        long[] positions = new long[batch * longest];
        boolean anyPadding = false;
        float[] valid = new float[batch * longest];
        for (int b = 0; b < batch; b++) {
            int[] p = prompts.get(b);
            int pad = longest - p.length;
            anyPadding |= pad > 0;
            for (int t = 0; t < longest; t++) {
                int i = b * longest + t;
                ids[i] = t < pad ? 0 : p[t - pad];
                positions[i] = Math.max(0, t - pad);
                valid[i] = t < pad ? 0 : 1;
            }
        }
        List<Sampler> samplers = new ArrayList<>();
        List<List<Integer>> outputs = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            samplers.add(new Sampler(new SamplingConfig(config.temperature(), config.topP(), config.seed() + b, config.maxNewTokens())));
            outputs.add(new ArrayList<>());
        }
        boolean[] done = new boolean[batch];
        List<LayerCache> caches = model.newCaches();
        long[] nextPositions = new long[batch];
        for (int b = 0; b < batch; b++) {
            nextPositions[b] = prompts.get(b).length;
        }
        try (NoGradGuard noGrad = new NoGradGuard()) {
            Tensor keyValid = anyPadding ? Tensors.keep(Tensors.ofFloats(valid, batch, longest).gt(Tensors.scalar(0.5))) : null;
            float[][] last;
            try (PointerScope scope = new PointerScope()) {
                Tensor logits = model.lastLogits(Tensors.ofLongs(ids, batch, longest), Tensors.ofLongs(positions, batch, longest),
                        new AttentionContext(keyValid, 0), caches);
                last = lastRows(logits);
            }
            if (!WarmUp.ready() && WarmUp.worthIt((long) batch * config.maxNewTokens())) {
                // Long enough to repay compiling the Java decode kernels first (~0.7 s);
                // shorter generations decode through libtorch.
                WarmUp.awaitReady();
            }
            long past = longest;
            for (int step = 0; step < config.maxNewTokens(); step++) {
                long[] next = new long[batch];
                for (int b = 0; b < batch; b++) {
                    int token = samplers.get(b).next(last[b]);
                    next[b] = token;
                    if (!done[b]) {
                        outputs.get(b).add(token);
                        if (b == 0 && onToken != null) {
                            onToken.accept(token);
                        }
                        done[b] = model.config().eosTokenIds().contains(token);
                    }
                }
                if (allDone(done) || step == config.maxNewTokens() - 1) {
                    break;
                }
                try (PointerScope scope = new PointerScope()) {
                    if (keyValid != null) {
                        Tensor grown = Tensors.cat(1, keyValid, Tensors.ones(Tensors.F32, batch, 1).gt(Tensors.scalar(0.5)));
                        keyValid = Tensors.keep(grown);
                    }
                    Tensor logits = model.lastLogits(Tensors.ofLongs(next, batch, 1), Tensors.ofLongs(nextPositions.clone(), batch, 1),
                            new AttentionContext(keyValid, past), caches);
                    last = lastRows(logits);
                }
                past++;
                for (int b = 0; b < batch; b++) {
                    nextPositions[b]++;
                }
            }
        }
        List<int[]> result = new ArrayList<>();
        for (List<Integer> out : outputs) {
            result.add(out.stream().mapToInt(Integer::intValue).toArray());
        }
        return result;
    }

    private static boolean allDone(boolean[] done) {
        for (boolean d : done) {
            if (!d) {
                return false;
            }
        }
        return true;
    }

    /** [B, V] logits to one float row per sequence. */
    private static float[][] lastRows(Tensor logits) {
        long batch = logits.size(0);
        float[][] rows = new float[(int) batch][];
        for (int b = 0; b < batch; b++) {
            rows[b] = Tensors.toFloats(logits.select(0, b));
        }
        return rows;
    }
}
