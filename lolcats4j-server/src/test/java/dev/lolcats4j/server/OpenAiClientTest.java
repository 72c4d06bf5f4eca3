package dev.lolcats4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import dev.lolcats4j.generate.Generator;
import dev.lolcats4j.generate.SamplingConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.tokenizer.Tokenizer;
import dev.lolcats4j.tokenizer.Tokenizers;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The real server on a loopback port, driven by the official OpenAI Java SDK: completions,
 * chat, streaming, cancellation, and the 400/401/429 refusals. Greedy output is checked
 * against the parity fixtures' float64 reference tokens and against {@link Generator} (what
 * {@code lolcats generate} runs).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiClientTest {

    static final Path PARITY = Path.of("../lolcats4j-core/src/test/resources/parity").toAbsolutePath().normalize();
    static final Path DEMO = Path.of("../demo/teacher").toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();

    /** A ChatML template with a namespace, as Qwen2-style models ship. */
    static final String TEMPLATE = "{%- set ns = namespace(n=0) -%}{%- for m in messages -%}{%- set ns.n = ns.n + 1 -%}"
            + "{{ m.role }}: {{ m.content }}\\n{%- endfor -%}{%- if add_generation_prompt -%}assistant:{%- endif -%}";

    ServedModel linear;      // parity llama-f32 + sliding-window adapter, token ids only
    OpenAiServer linearServer;
    ServedModel demo;        // the bundled teacher with a tokenizer and a chat template
    OpenAiServer demoServer;
    OpenAIClient linearClient;
    OpenAIClient demoClient;
    Path demoCopy;

    @BeforeAll
    void start() throws IOException {
        DecoderModel m = ModelLoader.load(PARITY.resolve("models/llama-f32"), ComputeType.F32);
        Adapters.load(m, PARITY.resolve("adapters/llama-f32-sw"));
        linear = new ServedModel("llama-f32-sw", m, Optional.empty(), Optional.empty(), System.err::println);
        linearServer = OpenAiServer.start(linear, new OpenAiServer.Options("127.0.0.1", 0, 2, 2, null), System.err::println);
        linearClient = client(linearServer, "unused");

        demoCopy = Files.createTempDirectory("lolcats-serve-demo");
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
            Files.copy(DEMO.resolve(f), demoCopy.resolve(f));
        }
        JsonNode config = JSON.readTree(DEMO.resolve("tokenizer_config.json").toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) config).put("chat_template", TEMPLATE.replace("\\n", "\n"));
        Files.writeString(demoCopy.resolve("tokenizer_config.json"), config.toString());
        demo = new ServedModel("demo", ModelLoader.load(demoCopy, ComputeType.F32), Tokenizers.forModel(demoCopy),
                ChatTemplate.forModel(demoCopy), System.err::println);
        demoServer = OpenAiServer.start(demo, new OpenAiServer.Options("127.0.0.1", 0, 4, 4, null), System.err::println);
        demoClient = client(demoServer, "unused");
    }

    @AfterAll
    void stop() throws IOException {
        linearServer.close();
        linear.close();
        demoServer.close();
        demo.close();
        try (Stream<Path> files = Files.list(demoCopy)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(demoCopy);
    }

    static OpenAIClient client(OpenAiServer server, String key) {
        return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey(key).maxRetries(0).build();
    }

    static List<Long> longs(int... ids) {
        return Arrays.stream(ids).mapToLong(i -> i).boxed().toList();
    }

    static String joined(int... ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    static final int[] PROMPT = {198, 190, 112, 145, 22, 122, 37, 207, 70, 61};            // cases.json llama-f32/sw/greedy
    static final int[] GREEDY = {121, 24, 99, 106, 120, 91, 26, 54, 226, 46, 115, 15};      // its float64 reference

    @Test
    void greedyCompletionEqualsTheReference() {
        Completion c = linearClient.completions().create(CompletionCreateParams.builder().model("llama-f32-sw")
                .promptOfArrayOfTokens(longs(PROMPT)).maxTokens(GREEDY.length).temperature(0.0).build());
        assertEquals(joined(GREEDY), c.choices().get(0).text());
        assertEquals("length", c.choices().get(0).finishReason().asString());
        assertEquals(PROMPT.length, c.usage().orElseThrow().promptTokens());
        assertEquals(GREEDY.length, c.usage().orElseThrow().completionTokens());
    }

    @Test
    void concurrentStreamsEachEqualTheReference() throws Exception {
        // Two sessions in one batch, the second joining while the first runs.
        List<Thread> threads = new ArrayList<>();
        List<String> texts = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 2; i++) {
            Thread t = new Thread(() -> {
                StringBuilder text = new StringBuilder();
                try (StreamResponse<Completion> s = linearClient.completions().createStreaming(CompletionCreateParams.builder()
                        .model("llama-f32-sw").promptOfArrayOfTokens(longs(PROMPT)).maxTokens(GREEDY.length).temperature(0.0).build())) {
                    s.stream().forEach(chunk -> chunk.choices().forEach(ch -> text.append(ch.text())));
                }
                texts.add(text.toString());
            });
            threads.add(t);
            t.start();
            Thread.sleep(30);
        }
        for (Thread t : threads) {
            t.join(60_000);
        }
        assertEquals(List.of(joined(GREEDY), joined(GREEDY)), texts);
    }

    @Test
    void streamingChunksAddUpToTheWholeAnswer() {
        CompletionCreateParams params = CompletionCreateParams.builder().model("demo").prompt("The cat").maxTokens(24)
                .temperature(0.0).streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();
        String whole = demoClient.completions().create(params).choices().get(0).text();
        List<Completion> chunks;
        try (StreamResponse<Completion> s = demoClient.completions().createStreaming(params)) {
            chunks = s.stream().toList();
        }
        String streamed = chunks.stream().flatMap(c -> c.choices().stream()).map(ch -> ch.text()).collect(Collectors.joining());
        assertEquals(whole, streamed);
        assertTrue(chunks.size() > 3, "one chunk per piece of text, found " + chunks.size());
        assertTrue(chunks.get(chunks.size() - 1).usage().isPresent(), "usage chunk last");
        // The same greedy continuation as the library's generator (what `lolcats generate` runs).
        Tokenizer tok = demo.tokenizer().orElseThrow();
        int[] expected = new Generator(demo.model()).generate(tok.encode("The cat"), SamplingConfig.greedy(24), null);
        assertEquals(tok.decode(expected), whole);
    }

    @Test
    void chatRendersTheTemplateAndStreams() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("demo").addSystemMessage("Be short.")
                .addUserMessage("Tell me about cats.").maxCompletionTokens(20).temperature(0.0).build();
        ChatCompletion c = demoClient.chat().completions().create(params);
        String answer = c.choices().get(0).message().content().orElseThrow();
        Tokenizer tok = demo.tokenizer().orElseThrow();
        // "{%-" also strips the newline before it, as in Jinja2.
        int[] prompt = tok.encodeWithoutSpecial("system: Be short.user: Tell me about cats.assistant:");
        assertEquals(prompt.length, c.usage().orElseThrow().promptTokens());
        int[] expected = new Generator(demo.model()).generate(prompt, SamplingConfig.greedy(20), null);
        assertEquals(tok.decode(expected), answer);
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = demoClient.chat().completions().createStreaming(params)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
        }
        assertEquals(answer, streamed.toString());
    }

    @Test
    void stopStringsEndTheOutputBeforeThem() {
        CompletionCreateParams base = CompletionCreateParams.builder().model("llama-f32-sw").promptOfArrayOfTokens(longs(PROMPT))
                .maxTokens(GREEDY.length).temperature(0.0).build();
        String stop = "," + GREEDY[3] + ",";
        Completion c = linearClient.completions().create(base.toBuilder().stop(stop).build());
        assertEquals(joined(Arrays.copyOf(GREEDY, 3)), c.choices().get(0).text());
        assertEquals("stop", c.choices().get(0).finishReason().asString());
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = linearClient.completions().createStreaming(base.toBuilder().stop(stop).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertEquals(joined(Arrays.copyOf(GREEDY, 3)), streamed.toString());
    }

    @Test
    void sampledOutputIsReproducibleWithASeed() {
        CompletionCreateParams p = CompletionCreateParams.builder().model("llama-f32-sw").promptOfArrayOfTokens(longs(PROMPT))
                .maxTokens(12).temperature(0.9).topP(0.9).seed(7L).build();
        String a = linearClient.completions().create(p).choices().get(0).text();
        String b = linearClient.completions().create(p).choices().get(0).text();
        assertEquals(a, b);
        int[] expected = new Generator(linear.model()).generate(PROMPT, new SamplingConfig(0.9, 0.9, 7, 12), null);
        assertEquals(joined(expected), a);
    }

    @Test
    void listsTheModelAndReportsHealth() throws Exception {
        List<Model> models = linearClient.models().list().data();
        assertEquals(List.of("llama-f32-sw"), models.stream().map(Model::id).toList());
        JsonNode health = JSON.readTree(get(linearServer, "/health").body());
        assertEquals("ok", health.get("status").asText());
    }

    @Test
    void aClientThatGoesAwayFreesItsSlotAtOnce() throws Exception {
        int before = (int) demoServer.engine().steps();
        Iterator<Completion> chunks;
        StreamResponse<Completion> s = demoClient.completions().createStreaming(CompletionCreateParams.builder().model("demo")
                .prompt("Once upon a time").maxTokens(490).temperature(0.0).build()); // the demo teacher's context is 512
        chunks = s.stream().iterator();
        chunks.next();
        chunks.next();
        assertEquals(1, sessions(demoServer), "one session while streaming");
        s.close();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (sessions(demoServer) != 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, sessions(demoServer), "the session left after the client closed the stream");
        long steps = demoServer.engine().steps() - before;
        assertTrue(steps < 400, "decoding stopped early, after " + steps + " steps of 490");
    }

    static int sessions(OpenAiServer server) throws Exception {
        return JSON.readTree(get(server, "/health").body()).get("sessions").asInt();
    }

    @Test
    void beyondMaxSessionsIs429AndTheServerGoesOn() throws Exception {
        List<StreamResponse<Completion>> open = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                StreamResponse<Completion> s = linearClient.completions().createStreaming(CompletionCreateParams.builder()
                        .model("llama-f32-sw").promptOfArrayOfTokens(longs(PROMPT)).maxTokens(2000).temperature(0.0).build());
                s.stream().iterator().next();
                open.add(s);
            }
            RateLimitException e = assertThrows(RateLimitException.class, () -> linearClient.completions().create(
                    CompletionCreateParams.builder().model("llama-f32-sw").promptOfArrayOfTokens(longs(PROMPT)).maxTokens(2).build()));
            assertEquals(429, e.statusCode());
            assertEquals(Optional.of("too_many_sessions"), e.code());
        } finally {
            open.forEach(StreamResponse::close);
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (sessions(linearServer) != 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        greedyCompletionEqualsTheReference();
    }

    @Test
    void badParametersAre400WithAnOpenAiErrorBody() {
        CompletionCreateParams.Builder ok = CompletionCreateParams.builder().model("llama-f32-sw").promptOfArrayOfTokens(longs(PROMPT));
        BadRequestException hot = assertThrows(BadRequestException.class,
                () -> linearClient.completions().create(ok.temperature(5.0).build()));
        assertEquals(Optional.of("temperature"), hot.param());
        assertEquals(Optional.of("invalid_request_error"), hot.type());
        assertBad("top_p", () -> linearClient.completions().create(CompletionCreateParams.builder().model("llama-f32-sw")
                .promptOfArrayOfTokens(longs(PROMPT)).topP(1.5).build()));
        assertBad("max_tokens", () -> linearClient.completions().create(CompletionCreateParams.builder().model("llama-f32-sw")
                .promptOfArrayOfTokens(longs(PROMPT)).maxTokens(0).build()));
        assertBad("prompt", () -> linearClient.completions().create(CompletionCreateParams.builder().model("llama-f32-sw")
                .promptOfArrayOfTokens(longs(1, 2, 999)).build()));
        assertBad("prompt", () -> linearClient.completions().create(CompletionCreateParams.builder().model("llama-f32-sw")
                .prompt("text needs a tokenizer").build()));
        assertBad("messages", () -> linearClient.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("llama-f32-sw").addUserMessage("no template").build()));
        int[] tooLong = new int[2048];
        BadRequestException longPrompt = assertThrows(BadRequestException.class, () -> linearClient.completions().create(
                CompletionCreateParams.builder().model("llama-f32-sw").promptOfArrayOfTokens(longs(tooLong)).build()));
        assertEquals(Optional.of("context_length_exceeded"), longPrompt.code());
        OpenAIServiceException wrongModel = assertThrows(OpenAIServiceException.class, () -> linearClient.completions().create(
                CompletionCreateParams.builder().model("gpt-4").promptOfArrayOfTokens(longs(PROMPT)).build()));
        assertEquals(404, wrongModel.statusCode());
    }

    static void assertBad(String param, org.junit.jupiter.api.function.Executable call) {
        BadRequestException e = assertThrows(BadRequestException.class, call);
        assertEquals(Optional.of(param), e.param(), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }

    @Test
    void malformedBodiesAre400AndTheServerGoesOn() throws Exception {
        for (String body : new String[] {"{\"prompt\": [1, 2", "[1, 2, 3]", "", "{\"prompt\": [1, 2], \"max_tokens\": \"ten\"}",
                "{\"prompt\": [1, 2], \"stream\": \"yes\"}", "{\"prompt\": [1, 2.5]}", "{\"prompt\": {\"a\": 1}}",
                "{\"prompt\": [1, 2], \"stop\": [1]}", "{\"prompt\": [1, 2], \"max_tokens\": 1e300}", "{\"prompt\": [1, 2], \"seed\": \"x\"}"}) {
            HttpResponse<String> r = post(linearServer, "/v1/completions", body);
            assertEquals(400, r.statusCode(), body + " -> " + r.body());
            JsonNode error = JSON.readTree(r.body()).get("error");
            assertEquals("invalid_request_error", error.get("type").asText(), body);
            assertFalse(error.get("message").asText().isBlank(), body);
        }
        HttpResponse<String> chat = post(demoServer, "/v1/chat/completions", "{\"messages\": [{\"role\": 3, \"content\": \"x\"}]}");
        assertEquals(400, chat.statusCode(), chat.body());
        assertEquals("messages[0].role", JSON.readTree(chat.body()).get("error").get("param").asText());
        greedyCompletionEqualsTheReference();
    }

    @Test
    void withAnApiKeyRequestsWithoutItAre401() throws Exception {
        try (OpenAiServer secured = OpenAiServer.start(linear, new OpenAiServer.Options("127.0.0.1", 0, 2, 2, "s3cret"), System.err::println)) {
            UnauthorizedException e = assertThrows(UnauthorizedException.class, () -> client(secured, "wrong").completions()
                    .create(CompletionCreateParams.builder().model("llama-f32-sw").promptOfArrayOfTokens(longs(PROMPT)).maxTokens(2).build()));
            assertEquals(Optional.of("invalid_api_key"), e.code());
            assertEquals(401, post(secured, "/v1/completions", "{\"prompt\": [1, 2]}").statusCode());
            Completion c = client(secured, "s3cret").completions().create(CompletionCreateParams.builder().model("llama-f32-sw")
                    .promptOfArrayOfTokens(longs(PROMPT)).maxTokens(GREEDY.length).temperature(0.0).build());
            assertEquals(joined(GREEDY), c.choices().get(0).text());
        }
    }

    static HttpResponse<String> post(OpenAiServer server, String path, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(OpenAiServer server, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
