package dev.lolcats4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lolcats4j.lolcats.AdapterConfig;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelConfig;
import dev.lolcats4j.model.ModelFactory;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Load test of {@code lolcats serve}: the synthetic ~125M Llama of the bench module (random
 * bf16 weights; 32000 vocab, 768 wide, 12 layers, 12 heads, 4 KV heads), served in this
 * process on a loopback port, first converted to LoLCATs (default adapter, sliding window
 * 64), then as the softmax original. For each K, K clients stream one completion each at
 * the same moment (random token-id prompts, greedy); every request is bounded (max_tokens)
 * and every round has a deadline. Reports aggregate tokens/s, the decode steps' tokens/s,
 * p50/p99 time to first token and inter-token latency, and resident memory.
 */
public final class ServeBench {

    /**
     * @param sessions the K values, run in order
     * @param promptTokens prompt length of each session
     * @param newTokens max_tokens of each session
     * @param kinds "lolcats" and/or "softmax"
     * @param roundTimeout seconds after which a round's clients give up
     */
    public record Options(int[] sessions, int promptTokens, int newTokens, List<String> kinds, int roundTimeout) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private ServeBench() {}

    public static Map<String, Object> run(Options options, Consumer<String> progress) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("cpu", cpu());
        out.put("prompt_tokens", options.promptTokens());
        out.put("new_tokens", options.newTokens());
        for (String kind : options.kinds()) {
            out.put(kind, runKind(kind, options, progress));
        }
        return out;
    }

    private static List<Map<String, Object>> runKind(String kind, Options options, Consumer<String> progress) {
        ModelConfig base = ModelConfig.llama(32000, 768, 2048, 12, 12, 4);
        int context = Math.max(4096, Integer.highestOneBit(options.promptTokens() + options.newTokens()) * 2);
        ModelConfig config = new ModelConfig(base.modelType(), base.vocabSize(), base.hiddenSize(), base.intermediateSize(),
                base.numLayers(), base.numHeads(), base.numKvHeads(), base.headDim(), base.rmsNormEps(), base.ropeTheta(),
                base.ropeScaling(), base.tieWordEmbeddings(), base.attentionBias(), base.oProjBias(), base.mlpBias(),
                base.bosTokenId(), List.of(-1), context); // no EOS: every session runs to max_tokens
        DecoderModel model = ModelFactory.random(config, ComputeType.BF16, 1234);
        if (kind.equals("lolcats")) {
            Adapters.convert(model, AdapterConfig.defaults());
        }
        int maxK = Arrays.stream(options.sessions()).max().orElse(1);
        List<Map<String, Object>> rows = new ArrayList<>();
        try (ServedModel served = new ServedModel(kind, model, Optional.empty(), Optional.empty(), progress);
                OpenAiServer server = OpenAiServer.start(served, new OpenAiServer.Options("127.0.0.1", 0, maxK, maxK, null), progress)) {
            round(server, 1, 16, 4, options.roundTimeout(), new Random(1)); // warm the HTTP path and the prefill
            for (int k : options.sessions()) {
                System.gc();
                long before = residentBytes();
                Map<String, Object> row = round(server, k, options.promptTokens(), options.newTokens(), options.roundTimeout(),
                        new Random(k));
                long peak = (long) row.remove("peak_rss_bytes");
                long decoding = (long) row.remove("decoding_rss_bytes");
                row.put("rss_before_mib", before / 1048576.0);
                row.put("rss_peak_mib", peak / 1048576.0);
                row.put("rss_growth_per_session_mib", (peak - before) / 1048576.0 / k);
                // Peak includes the transient buffers of whichever prefill ran last; with all K
                // sessions in the batch (every prefill done) the growth is what the sessions hold.
                row.put("rss_all_decoding_mib", decoding < 0 ? null : decoding / 1048576.0);
                row.put("rss_all_decoding_growth_per_session_mib", decoding < 0 ? null : (decoding - before) / 1048576.0 / k);
                row.put("java_heap_committed_mib", Runtime.getRuntime().totalMemory() / 1048576.0);
                row.put("state_or_kv_bytes_per_session", served.isLinearized() ? served.stateBytesPerSession()
                        : served.kvBytesPerToken() * (options.promptTokens() + options.newTokens()));
                progress.accept(kind + " K=" + k + ": " + row);
                rows.add(row);
            }
        }
        return rows;
    }

    /** K streaming clients at once; returns the round's figures. */
    private static Map<String, Object> round(OpenAiServer server, int k, int promptTokens, int newTokens, int timeoutSeconds,
            Random random) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        URI uri = URI.create("http://127.0.0.1:" + server.port() + "/v1/completions");
        long[][] firstAndGaps = new long[k][];
        long[] tokens = new long[k];
        String[] failures = new String[k];
        List<Thread> clients = new ArrayList<>();
        long decodeNanos0 = server.engine().decodeNanos();
        long decoded0 = server.engine().decodedTokens();
        AtomicLong peak = new AtomicLong(residentBytes());
        AtomicLong decoding = new AtomicLong(-1);
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                long rss = residentBytes();
                peak.accumulateAndGet(rss, Math::max);
                if (server.engine().running() == k) {
                    decoding.accumulateAndGet(rss, Math::max);
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long start = System.nanoTime();
        for (int i = 0; i < k; i++) {
            int index = i;
            int[] prompt = random.ints(promptTokens, 3, 32000).toArray();
            String body = "{\"model\":\"" + "x" + "\",\"prompt\":" + Arrays.toString(prompt).replace(" ", "")
                    + ",\"max_tokens\":" + newTokens + ",\"temperature\":0,\"stream\":true}";
            body = body.replace("\"model\":\"x\",", "");
            String request = body;
            clients.add(Thread.ofPlatform().start(() -> {
                List<Long> times = new ArrayList<>();
                long sent = System.nanoTime();
                try {
                    HttpResponse<java.util.stream.Stream<String>> r = http.send(HttpRequest.newBuilder(uri)
                            .timeout(Duration.ofSeconds(timeoutSeconds)).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(request)).build(), HttpResponse.BodyHandlers.ofLines());
                    if (r.statusCode() != 200) {
                        failures[index] = "HTTP " + r.statusCode();
                        return;
                    }
                    r.body().forEach(line -> {
                        if (line.startsWith("data: {")) {
                            try {
                                JsonNode chunk = JSON.readTree(line.substring(6));
                                String text = chunk.path("choices").path(0).path("text").asText("");
                                if (!text.isEmpty()) {
                                    times.add(System.nanoTime());
                                }
                            } catch (IOException e) {
                                failures[index] = e.toString();
                            }
                        }
                    });
                } catch (IOException | InterruptedException e) {
                    failures[index] = e.toString();
                }
                long[] row = new long[times.size()];
                for (int t = 0; t < row.length; t++) {
                    row[t] = times.get(t) - (t == 0 ? sent : times.get(t - 1));
                }
                firstAndGaps[index] = row;
                tokens[index] = row.length;
            }));
        }
        for (Thread t : clients) {
            try {
                t.join(timeoutSeconds * 1000L + 5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        double wall = (System.nanoTime() - start) / 1e9;
        sampler.interrupt();
        List<Double> ttft = new ArrayList<>();
        List<Double> gaps = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < k; i++) {
            if (firstAndGaps[i] == null || firstAndGaps[i].length == 0) {
                continue;
            }
            ttft.add(firstAndGaps[i][0] / 1e6);
            for (int t = 1; t < firstAndGaps[i].length; t++) {
                gaps.add(firstAndGaps[i][t] / 1e6);
            }
            total += tokens[i];
        }
        double decodeSeconds = (server.engine().decodeNanos() - decodeNanos0) / 1e9;
        long decoded = server.engine().decodedTokens() - decoded0;
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("sessions", k);
        row.put("completed", ttft.size());
        row.put("failures", Arrays.stream(failures).filter(f -> f != null).distinct().toList());
        row.put("tokens", total);
        row.put("wall_seconds", wall);
        row.put("aggregate_tokens_per_second", total / wall);
        row.put("decode_tokens_per_second", decoded / Math.max(decodeSeconds, 1e-9));
        row.put("ttft_p50_ms", percentile(ttft, 50));
        row.put("ttft_p99_ms", percentile(ttft, 99));
        row.put("itl_p50_ms", percentile(gaps, 50));
        row.put("itl_p99_ms", percentile(gaps, 99));
        row.put("peak_rss_bytes", peak.get());
        row.put("decoding_rss_bytes", decoding.get());
        return row;
    }

    private static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int index = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: no figure
        }
        return -1;
    }

    private static String cpu() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
                }
            }
        } catch (IOException e) {
            // unknown
        }
        return "unknown";
    }
}
