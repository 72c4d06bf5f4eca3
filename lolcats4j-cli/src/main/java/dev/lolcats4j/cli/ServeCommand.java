package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.server.ChatTemplate;
import dev.lolcats4j.server.OpenAiServer;
import dev.lolcats4j.server.ServedModel;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lolcats serve}: an OpenAI-compatible HTTP server with continuous batching. */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Serve the model over an OpenAI-compatible HTTP API: POST /v1/completions, POST /v1/chat/completions",
            "(both with \"stream\": true as Server-Sent Events), GET /v1/models, GET /health.",
            "Runs until interrupted (Ctrl-C or SIGTERM). Writes nothing to disk."})
final class ServeCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "Address to bind (default: ${DEFAULT-VALUE}, this machine only).")
    String host;

    @Option(names = "--port", converter = Flags.Port.class, defaultValue = "8080", paramLabel = "N", description = "TCP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--max-sessions", converter = Flags.Positive.class, defaultValue = "16", paramLabel = "N",
            description = "Requests admitted at once, decoding or waiting for a place in the batch; more get 429 (default: ${DEFAULT-VALUE}).")
    int maxSessions;

    @Option(names = "--max-batch", converter = Flags.Positive.class, paramLabel = "N",
            description = "Sequences decoded together in one step (default: --max-sessions).")
    Integer maxBatch;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Require \"Authorization: Bearer KEY\" on /v1 requests (default: $LOLCATS_API_KEY, else none).")
    String apiKey;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "The model id clients send (default: the model folder's name).")
    String servedName;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        validate();
        model.validate();
        Optional<ChatTemplate> template = ChatTemplate.forModel(model.modelDir());
        DecoderModel loaded = model.load(err);
        String id = servedName != null ? servedName : model.modelDir().toAbsolutePath().normalize().getFileName().toString();
        ServedModel served;
        try {
            served = new ServedModel(id, loaded, model.tokenizer(), template, line -> {
                err.println(line);
                err.flush();
            });
        } catch (RuntimeException e) {
            loaded.close();
            throw e;
        }
        int batch = maxBatch != null ? maxBatch : maxSessions;
        try (served) {
            checkMemory(served);
            if (template.isEmpty()) {
                err.println("no chat_template in " + model.modelDir().resolve("tokenizer_config.json")
                        + ": /v1/chat/completions will answer 400; /v1/completions works");
            }
            OpenAiServer server;
            try {
                server = OpenAiServer.start(served, new OpenAiServer.Options(host, port, maxSessions, batch, apiKey), line -> {
                    err.println(line);
                    err.flush();
                });
            } catch (RuntimeException e) {
                throw new BadInputException("--host " + host + " --port " + port + ": cannot listen there (" + e.getMessage() + ")");
            }
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                server.close();
                stopped.countDown();
            }, "lolcats-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            err.printf(Locale.ROOT, "serving %s on http://%s:%d/v1 (max %d sessions, batch %d%s)%n", id, host, server.port(),
                    maxSessions, batch, apiKey != null ? ", API key required" : "");
            err.flush();
            stopped.await();
        }
        return Main.EXIT_OK;
    }

    private void validate() {
        if (port < 0 || port > 65535) {
            throw new BadInputException("--port: expected 0..65535, found " + port);
        }
        if (maxSessions < 1 || maxSessions > 4096) {
            throw new BadInputException("--max-sessions: expected 1..4096, found " + maxSessions);
        }
        if (maxBatch != null && (maxBatch < 1 || maxBatch > maxSessions)) {
            throw new BadInputException("--max-batch: expected 1..--max-sessions (" + maxSessions + "), found " + maxBatch);
        }
        if (apiKey == null) {
            String env = System.getenv("LOLCATS_API_KEY");
            apiKey = env == null || env.isEmpty() ? null : env;
        } else if (apiKey.isBlank() || apiKey.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new BadInputException("--api-key: expected printable ASCII without spaces, found "
                    + (apiKey.isBlank() ? "an empty key" : "other characters"));
        }
        if (host.isBlank()) {
            throw new BadInputException("--host: expected an address such as 127.0.0.1, found an empty string");
        }
        if (servedName != null && servedName.isBlank()) {
            throw new BadInputException("--served-model-name: expected a non-empty name");
        }
    }

    /**
     * Refuses a --max-sessions whose caches could outgrow this machine's memory: never an
     * out-of-memory later, under load.
     */
    private void checkMemory(ServedModel served) {
        long perSession = served.worstCaseBytesPerSession();
        long total = perSession * maxSessions;
        long physical = physicalMemoryBytes();
        if (physical > 0 && total > physical / 2) {
            throw new BadInputException(String.format(Locale.ROOT,
                    "--max-sessions %d: each session may hold up to %.1f MiB of caches (%s over a %d-token context), %.1f GiB in all,"
                            + " more than half this machine's %.1f GiB; lower --max-sessions",
                    maxSessions, perSession / 1048576.0, served.isLinearized() ? "LoLCATs state" : "KV cache",
                    served.maxContextTokens(), total / 1073741824.0, physical / 1073741824.0));
        }
    }

    private static long physicalMemoryBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return -1;
    }

}
