package dev.lolcats4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The OpenAI-compatible HTTP API over one {@link ServedModel}, on Helidon SE:
 * {@code POST /v1/completions}, {@code POST /v1/chat/completions} (both also as Server-Sent
 * Events with {@code "stream": true}), {@code GET /v1/models} and {@code GET /health}.
 * Generation runs in one {@link Engine} (continuous batching). Every refusal is an
 * OpenAI-style JSON error; no request can stop the server.
 */
public final class OpenAiServer implements AutoCloseable {

    /**
     * @param host address to bind (127.0.0.1 unless the user asks otherwise)
     * @param port TCP port; 0 picks a free one
     * @param maxSessions sessions admitted at once (running or waiting); beyond them, 429
     * @param maxBatch sessions decoded together in one step
     * @param apiKey when non-null, /v1 requests need "Authorization: Bearer KEY"
     */
    public record Options(String host, int port, int maxSessions, int maxBatch, String apiKey) {
        /** Bodies above this are refused (a prompt of a whole context as ids is ~1 MB). */
        static final long MAX_BODY_BYTES = 16L << 20;
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Helidon logs each start and stop at INFO through java.util.logging; the server prints its own status lines. */
    private static final java.util.logging.Logger HELIDON_LOG = quiet(java.util.logging.Logger.getLogger("io.helidon"));
    private static final int DEFAULT_COMPLETION_TOKENS = 16;   // the OpenAI completions default
    private static final int DEFAULT_CHAT_TOKENS = 1024;

    private final ServedModel model;
    private final Options options;
    private final Engine engine;
    private final WebServer server;
    private final Consumer<String> log;

    private OpenAiServer(ServedModel model, Options options, Consumer<String> log) {
        this.model = model;
        this.options = options;
        this.log = log;
        this.engine = new Engine(model, options.maxSessions(), options.maxBatch(), log);
        this.server = WebServer.builder()
                .host(options.host())
                .port(options.port())
                .maxPayloadSize(Options.MAX_BODY_BYTES)
                .routing(this::routes)
                .build()
                .start();
    }

    /** Starts serving; the model stays the caller's (close it after the server). */
    public static OpenAiServer start(ServedModel model, Options options, Consumer<String> log) {
        return new OpenAiServer(model, options, log);
    }

    public int port() {
        return server.port();
    }

    public Engine engine() {
        return engine;
    }

    private void routes(HttpRouting.Builder routing) {
        routing.addFilter((chain, req, res) -> {
            if (options.apiKey() != null && req.path().path().startsWith("/v1/") && !authorized(req.headers()
                    .first(io.helidon.http.HeaderNames.AUTHORIZATION).orElse(""))) {
                error(res, new ApiException(401, "invalid_request_error", null, "invalid_api_key",
                        "missing or incorrect API key: send the header \"Authorization: Bearer KEY\""));
                return;
            }
            chain.proceed();
        });
        routing.get("/health", (req, res) -> guarded(res, () -> health(res)));
        routing.get("/v1/models", (req, res) -> guarded(res, () -> models(res)));
        routing.post("/v1/completions", (req, res) -> guarded(res, () -> completions(req, res, false)));
        routing.post("/v1/chat/completions", (req, res) -> guarded(res, () -> completions(req, res, true)));
        routing.any((req, res) -> error(res, new ApiException(404, "invalid_request_error", null, "not_found",
                "no endpoint " + req.prologue().method().text() + " " + req.path().path()
                        + "; this server has POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health")));
    }

    private boolean authorized(String header) {
        byte[] expected = ("Bearer " + options.apiKey()).getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(expected, header.getBytes(StandardCharsets.UTF_8)); // constant time
    }

    /** Runs a handler; refusals become their error body, anything unexpected a 500, and the server goes on. */
    private void guarded(ServerResponse res, Runnable handler) {
        try {
            handler.run();
        } catch (ApiException e) {
            error(res, e);
        } catch (RuntimeException e) {
            log.accept("request failed: " + e);
            if (!res.isSent()) {
                error(res, new ApiException(500, "server_error", null, null, "internal error: " + e.getMessage()));
            }
        }
    }

    private void health(ServerResponse res) {
        ObjectNode node = JSON.createObjectNode();
        node.put("status", "ok");
        node.put("model", model.id());
        node.put("decode_path", model.decodePath().name().toLowerCase(java.util.Locale.ROOT));
        node.put("running", engine.running());
        node.put("sessions", engine.sessions());
        node.put("max_sessions", options.maxSessions());
        node.put("max_batch", options.maxBatch());
        send(res, 200, node);
    }

    private void models(ServerResponse res) {
        ObjectNode list = JSON.createObjectNode();
        list.put("object", "list");
        ObjectNode entry = list.putArray("data").addObject();
        entry.put("id", model.id());
        entry.put("object", "model");
        entry.put("created", 0);
        entry.put("owned_by", "lolcats4j");
        send(res, 200, list);
    }

    private void completions(ServerRequest req, ServerResponse res, boolean chat) {
        JsonNode body = readJson(req);
        int[] prompt;
        if (chat) {
            List<Map<String, Object>> messages = CompletionRequest.messages(body);
            ChatTemplate template = model.chatTemplate().orElseThrow(() -> ApiException.badRequest("messages",
                    "this model has no chat template (no chat_template in its tokenizer_config.json); use /v1/completions"));
            String rendered;
            try {
                rendered = template.render(messages, true);
            } catch (ChatTemplate.RenderException e) {
                throw ApiException.badRequest("messages", e.getMessage());
            }
            // The template writes the special tokens itself (as apply_chat_template tokenizes).
            prompt = tokenizer("messages").encodeWithoutSpecial(rendered);
        } else {
            Object p = CompletionRequest.prompt(body);
            prompt = p instanceof String text ? tokenizer("prompt").encode(text) : (int[]) p;
        }
        CompletionRequest request = CompletionRequest.parse(body, prompt, model, chat ? DEFAULT_CHAT_TOKENS : DEFAULT_COMPLETION_TOKENS, chat);
        Session session = engine.submit(request.prompt(), request.sampling());
        Reply reply = new Reply(chat, request, session);
        if (request.stream()) {
            reply.stream(res);
        } else {
            reply.whole(res);
        }
    }

    private dev.lolcats4j.tokenizer.Tokenizer tokenizer(String param) {
        return model.tokenizer().orElseThrow(() -> ApiException.badRequest(param,
                "this model folder has no tokenizer.json: send the prompt to /v1/completions as an array of token ids"));
    }

    private static JsonNode readJson(ServerRequest req) {
        String text;
        try {
            text = req.content().as(String.class);
        } catch (RuntimeException e) {
            throw ApiException.badRequest(null, "could not read the request body: " + e.getMessage());
        }
        JsonNode body;
        try {
            body = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, "the body is not valid JSON: " + e.getOriginalMessage());
        }
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest(null, "the body must be a JSON object, found "
                    + (body == null ? "nothing" : CompletionRequest.typeOf(body)));
        }
        return body;
    }

    /** One response: reads the session's events, turns tokens into text, writes JSON or SSE. */
    private final class Reply {
        final boolean chat;
        final CompletionRequest request;
        final Session session;
        final String id;
        final long created = System.currentTimeMillis() / 1000;
        final TextStream text = new TextStream(model.tokenizer());
        final StopMatcher stop;
        int completionTokens;
        String finishReason;

        Reply(boolean chat, CompletionRequest request, Session session) {
            this.chat = chat;
            this.request = request;
            this.session = session;
            this.id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
            this.stop = new StopMatcher(request.stop());
        }

        /** Waits for the next piece of text; null at the end (then {@link #finishReason} is set). */
        String next() {
            while (true) {
                Session.Event event;
                try {
                    event = session.next(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    session.cancel();
                    Thread.currentThread().interrupt();
                    throw new ApiException(503, "server_error", null, null, "interrupted");
                }
                if (event == null) {
                    continue;
                }
                if (event instanceof Session.Token token) {
                    completionTokens++;
                    String piece = stop.push(text.push(token.id()));
                    if (stop.stopped()) {
                        session.cancel(); // frees the slot before the next step
                        finishReason = "stop";
                        return piece.isEmpty() ? null : piece;
                    }
                    if (!piece.isEmpty()) {
                        return piece;
                    }
                } else if (event instanceof Session.End end) {
                    if (end.error() != null) {
                        throw new ApiException(500, "server_error", null, null, end.error());
                    }
                    finishReason = end.finishReason();
                    String tail = stop.push(text.flush());
                    if (stop.stopped()) {
                        finishReason = "stop";
                    } else {
                        tail += stop.flush();
                    }
                    return tail.isEmpty() ? null : tail;
                }
            }
        }

        boolean ended() {
            return finishReason != null;
        }

        void whole(ServerResponse res) {
            StringBuilder out = new StringBuilder();
            try {
                while (!ended()) {
                    String piece = next();
                    if (piece != null) {
                        out.append(piece);
                    }
                }
            } finally {
                session.cancel(); // no-op when finished; frees the slot when an error cut it short
            }
            ObjectNode node = envelope(chat ? "chat.completion" : "text_completion");
            ObjectNode choice = node.putArray("choices").addObject();
            choice.put("index", 0);
            if (chat) {
                ObjectNode message = choice.putObject("message");
                message.put("role", "assistant");
                message.put("content", out.toString());
            } else {
                choice.put("text", out.toString());
            }
            choice.putNull("logprobs");
            choice.put("finish_reason", finishReason);
            usage(node);
            send(res, 200, node);
        }

        void stream(ServerResponse res) {
            res.status(200);
            res.header("Content-Type", "text/event-stream; charset=utf-8");
            res.header("Cache-Control", "no-cache");
            try (OutputStream out = res.outputStream()) {
                if (chat) {
                    event(out, chunk(null, true, null));
                }
                while (!ended()) {
                    String piece;
                    try {
                        piece = next();
                    } catch (ApiException e) {
                        event(out, errorBody(e));
                        break;
                    }
                    if (piece != null) {
                        event(out, chunk(piece, false, null));
                    }
                }
                if (ended()) {
                    event(out, chunk(null, false, finishReason));
                    if (request.includeUsage()) {
                        ObjectNode last = envelope("chat.completion.chunk");
                        if (!chat) {
                            last.put("object", "text_completion");
                        }
                        last.putArray("choices");
                        usage(last);
                        event(out, last);
                    }
                }
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException | UncheckedIOException e) {
                // The client went away: its place in the batch goes at the next step.
            } finally {
                session.cancel();
            }
        }

        private ObjectNode chunk(String piece, boolean roleOnly, String finish) {
            ObjectNode node = envelope(chat ? "chat.completion.chunk" : "text_completion");
            ObjectNode choice = node.putArray("choices").addObject();
            choice.put("index", 0);
            if (chat) {
                ObjectNode delta = choice.putObject("delta");
                if (roleOnly) {
                    delta.put("role", "assistant");
                    delta.put("content", "");
                } else if (piece != null) {
                    delta.put("content", piece);
                }
            } else {
                choice.put("text", piece == null ? "" : piece);
            }
            choice.putNull("logprobs");
            if (finish == null) {
                choice.putNull("finish_reason");
            } else {
                choice.put("finish_reason", finish);
            }
            return node;
        }

        private ObjectNode envelope(String object) {
            ObjectNode node = JSON.createObjectNode();
            node.put("id", id);
            node.put("object", object);
            node.put("created", created);
            node.put("model", model.id());
            return node;
        }

        private void usage(ObjectNode node) {
            ObjectNode usage = node.putObject("usage");
            usage.put("prompt_tokens", request.prompt().length);
            usage.put("completion_tokens", completionTokens);
            usage.put("total_tokens", request.prompt().length + completionTokens);
        }
    }

    private static void event(OutputStream out, JsonNode node) throws IOException {
        out.write(("data: " + node + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static ObjectNode errorBody(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        if (e.param() == null) {
            error.putNull("param");
        } else {
            error.put("param", e.param());
        }
        if (e.code() == null) {
            error.putNull("code");
        } else {
            error.put("code", e.code());
        }
        return root;
    }

    private static void error(ServerResponse res, ApiException e) {
        send(res, e.status(), errorBody(e));
    }

    private static void send(ServerResponse res, int status, JsonNode body) {
        res.status(status);
        res.header("Content-Type", "application/json");
        res.send(body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static java.util.logging.Logger quiet(java.util.logging.Logger logger) {
        logger.setLevel(java.util.logging.Level.WARNING);
        return logger;
    }

    /** Stops accepting requests, ends every session, and stops the decode loop. */
    @Override
    public void close() {
        engine.close();
        server.stop();
    }

}
