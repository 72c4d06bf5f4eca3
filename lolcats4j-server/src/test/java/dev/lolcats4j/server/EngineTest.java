package dev.lolcats4j.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.lolcats4j.generate.Generator;
import dev.lolcats4j.generate.SamplingConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Prompts longer than the prefill budget are prefilled a piece per decode step: the greedy
 * tokens must equal one whole prefill ({@link Generator}, what {@code lolcats generate} runs),
 * for a LoLCATs model (state continued in the parallel form) and a softmax one (KV cache).
 */
class EngineTest {

    static final Path PARITY = OpenAiClientTest.PARITY;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama-f32-sw", "llama-f32-softmax"})
    void aPromptPrefilledInPiecesGivesTheTokensOfOnePrefill(String name) throws Exception {
        DecoderModel model = ModelLoader.load(PARITY.resolve("models/llama-f32"), ComputeType.F32);
        if (name.endsWith("-sw")) {
            Adapters.load(model, PARITY.resolve("adapters/llama-f32-sw"));
        }
        int[] prompt = new int[45]; // 6 pieces of 8 and a short one; the adapter's window is 8: keys fold into S, z
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = OpenAiClientTest.PROMPT[i % OpenAiClientTest.PROMPT.length] + i % 7;
        }
        int[] expected = new Generator(model).generate(prompt, SamplingConfig.greedy(10), null);
        try (ServedModel served = new ServedModel(name, model, Optional.empty(), Optional.empty(), System.err::println);
                Engine engine = new Engine(served, 2, 2, System.err::println, 8)) {
            // Two sessions: the second is prefilled in pieces while the first decodes.
            Session first = engine.submit(prompt, SamplingConfig.greedy(10));
            Session second = engine.submit(prompt, SamplingConfig.greedy(10));
            assertArrayEquals(expected, tokens(first));
            assertArrayEquals(expected, tokens(second));
        }
    }

    private static int[] tokens(Session session) throws InterruptedException {
        List<Integer> out = new ArrayList<>();
        while (true) {
            Session.Event e = session.next(60, TimeUnit.SECONDS);
            assertNotNull(e, "no event within 60 s");
            if (e instanceof Session.End end) {
                assertEquals("length", end.finishReason(), String.valueOf(end.error()));
                return out.stream().mapToInt(Integer::intValue).toArray();
            }
            out.add(((Session.Token) e).id());
        }
    }
}
