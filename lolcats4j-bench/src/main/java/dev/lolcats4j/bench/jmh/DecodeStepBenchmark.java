package dev.lolcats4j.bench.jmh;

import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelFactory;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One decode step (one token, batch 1) of the synthetic ~125M Llama in bf16 after a prompt of
 * {@code context} tokens: softmax with a KV cache, or LoLCATs hybrid (defaults). The softmax
 * cache keeps growing over the run (a few hundred tokens); the hybrid state does not.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
public class DecodeStepBenchmark {

    @Param({"softmax", "hybrid"})
    public String attention;

    @Param({"512"})
    public int context;

    private DecoderModel model;
    private List<LayerCache> caches;
    private long position;

    @Setup
    public void setup() {
        Natives.init();
        dev.lolcats4j.kernels.WarmUp.awaitReady(); // decode takes the Java kernels, as long generations do
        model = ModelFactory.random(ModelConfig.llama(32000, 768, 2048, 12, 12, 4), ComputeType.BF16, 1234);
        if (attention.equals("hybrid")) {
            Adapters.convert(model, AdapterConfig.defaults());
        }
        caches = model.newCaches();
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            long[] ids = new long[context];
            for (int i = 0; i < context; i++) {
                ids[i] = (i * 7919L) % 32000;
            }
            model.forward(Tensors.ofLongs(ids, 1, context), Tensors.arange(context).unsqueeze(0), AttentionContext.unpadded(), caches);
        }
        position = context;
    }

    @Benchmark
    public long step() {
        try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            long p = position++;
            Tensor logits = model.forward(Tensors.ofLongs(new long[] {p % 32000}, 1, 1), Tensors.ofLongs(new long[] {p}, 1, 1),
                    new AttentionContext(null, p), caches);
            return logits.argmax().item_long();
        }
    }
}
