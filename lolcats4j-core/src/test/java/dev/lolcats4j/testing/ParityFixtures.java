package dev.lolcats4j.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parity fixtures copied from ../shared/fixtures/parity: tiny HF models, adapters and
 * cases.json with values from an independent float64 reference.
 */
public final class ParityFixtures {

    /** One case of cases.json. */
    public record Case(String name, Path model, Path adapter, int[] tokenIds, double[] logprobs, int[] greedy) {
        @Override
        public String toString() {
            return name;
        }
    }

    private ParityFixtures() {}

    public static Path root() {
        try {
            return Path.of(ParityFixtures.class.getResource("/parity").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path path(String relative) {
        return root().resolve(relative);
    }

    public static double tolerance() {
        return read().path("tolerance_abs_logprob").asDouble();
    }

    public static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (JsonNode c : read().get("cases")) {
            Path adapter = c.get("adapter").isNull() ? null : path(c.get("adapter").asText());
            cases.add(new Case(c.get("name").asText(), path(c.get("model").asText()), adapter,
                    ints(c.get("token_ids")), c.has("logprobs") ? doubles(c.get("logprobs")) : null,
                    c.has("greedy") ? ints(c.get("greedy")) : null));
        }
        return cases;
    }

    private static JsonNode read() {
        try {
            return new ObjectMapper().readTree(path("cases.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }
}
