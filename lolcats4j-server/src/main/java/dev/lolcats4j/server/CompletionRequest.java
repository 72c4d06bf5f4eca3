package dev.lolcats4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lolcats4j.generate.SamplingConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parts of an OpenAI completions or chat request this server acts on, checked field by
 * field: a known field of the wrong type or out of range is a 400 naming it; unknown fields
 * are ignored, as OpenAI clients send extras.
 *
 * @param prompt token ids (from the prompt, or the rendered chat)
 * @param maxTokens generated tokens at most
 * @param stop strings that end the output (at most 4)
 * @param includeUsage stream_options.include_usage: a last chunk carries the usage
 */
record CompletionRequest(int[] prompt, int maxTokens, double temperature, double topP, long seed, List<String> stop,
        boolean stream, boolean includeUsage) {

    SamplingConfig sampling() {
        return new SamplingConfig(temperature, topP, seed, maxTokens);
    }

    /** Completion and chat fields shared by both endpoints, once the prompt is known. */
    static CompletionRequest parse(JsonNode body, int[] prompt, ServedModel model, int defaultMaxTokens, boolean chat) {
        checkModel(body, model);
        int context = model.maxContextTokens();
        if (prompt.length == 0) {
            throw ApiException.badRequest(chat ? "messages" : "prompt", "the prompt is empty: expected at least one token");
        }
        int vocab = model.model().config().vocabSize();
        for (int id : prompt) {
            if (id < 0 || id >= vocab) {
                throw ApiException.badRequest("prompt", "token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (prompt.length >= context) {
            throw contextExceeded(context, prompt.length, 1);
        }
        String tokensField = chat && body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        Integer asked = optInt(body, tokensField, 1, Integer.MAX_VALUE);
        int maxTokens = asked != null ? asked : Math.min(defaultMaxTokens, context - prompt.length);
        if ((long) prompt.length + maxTokens > context) {
            throw contextExceeded(context, prompt.length, maxTokens);
        }
        Double temperature = optNumber(body, "temperature", 0, 2);
        Double topP = optNumber(body, "top_p", 0, 1);
        if (topP != null && topP == 0) {
            throw ApiException.badRequest("top_p", "top_p must be in (0, 1], found 0");
        }
        Long seed = optLong(body, "seed");
        Integer n = optInt(body, "n", 1, Integer.MAX_VALUE);
        if (n != null && n != 1) {
            throw ApiException.badRequest("n", "only n = 1 is supported, found " + n);
        }
        for (String penalty : new String[] {"presence_penalty", "frequency_penalty"}) {
            Double value = optNumber(body, penalty, -2, 2);
            if (value != null && value != 0) {
                throw ApiException.badRequest(penalty, penalty + " is not supported (only 0)");
            }
        }
        JsonNode logprobs = body.get("logprobs");
        if (logprobs != null && !logprobs.isNull() && !(logprobs.isBoolean() && !logprobs.asBoolean())) {
            throw ApiException.badRequest("logprobs", "logprobs are not supported");
        }
        if (!chat) {
            Boolean echo = optBoolean(body, "echo");
            if (Boolean.TRUE.equals(echo)) {
                throw ApiException.badRequest("echo", "echo is not supported");
            }
            String suffix = optString(body, "suffix");
            if (suffix != null && !suffix.isEmpty()) {
                throw ApiException.badRequest("suffix", "suffix is not supported");
            }
        }
        List<String> stop = stops(body.get("stop"));
        Boolean stream = optBoolean(body, "stream");
        boolean includeUsage = false;
        JsonNode options = body.get("stream_options");
        if (options != null && !options.isNull()) {
            if (!options.isObject()) {
                throw ApiException.badRequest("stream_options", "stream_options must be an object, found " + typeOf(options));
            }
            Boolean usage = optBoolean(options, "include_usage");
            includeUsage = Boolean.TRUE.equals(usage);
        }
        return new CompletionRequest(prompt, maxTokens, temperature == null ? 1.0 : temperature, topP == null ? 1.0 : topP,
                seed == null ? 0 : seed, stop, Boolean.TRUE.equals(stream), includeUsage);
    }

    /** The completions prompt: a string, one string in a list, token ids, or one list of token ids. */
    static Object prompt(JsonNode body) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.badRequest("prompt", "prompt is required");
        }
        if (p.isTextual()) {
            return p.asText();
        }
        if (p.isArray()) {
            if (p.size() == 1 && (p.get(0).isTextual() || p.get(0).isArray())) {
                return p.get(0).isTextual() ? p.get(0).asText() : ids(p.get(0));
            }
            if (p.size() > 0 && (p.get(0).isTextual() || p.get(0).isArray())) {
                throw ApiException.badRequest("prompt", "one prompt per request is supported, found " + p.size());
            }
            return ids(p);
        }
        throw ApiException.badRequest("prompt", "prompt must be a string or an array of token ids, found " + typeOf(p));
    }

    private static int[] ids(JsonNode array) {
        if (!array.isArray()) {
            throw ApiException.badRequest("prompt", "expected an array of token ids, found " + typeOf(array));
        }
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = array.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw ApiException.badRequest("prompt", "prompt[" + i + "]: expected a token id (integer), found " + id);
            }
            ids[i] = id.asInt();
        }
        return ids;
    }

    /** The chat messages as the template sees them: role and content strings. */
    static List<Map<String, Object>> messages(JsonNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.badRequest("messages", "messages must be a non-empty array, found "
                    + (messages == null ? "nothing" : typeOf(messages)));
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.badRequest(where, where + ": expected an object, found " + typeOf(m));
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.badRequest(where + ".role", where + ".role: expected a string");
            }
            JsonNode content = m.get("content");
            String text;
            if (content == null || content.isNull()) {
                text = "";
            } else if (content.isTextual()) {
                text = content.asText();
            } else if (content.isArray()) {
                StringBuilder joined = new StringBuilder();
                for (JsonNode part : content) {
                    if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                        throw ApiException.badRequest(where + ".content", where + ".content: only text parts are supported");
                    }
                    joined.append(part.get("text").asText());
                }
                text = joined.toString();
            } else {
                throw ApiException.badRequest(where + ".content", where + ".content: expected a string or text parts, found " + typeOf(content));
            }
            out.add(Map.of("role", role.asText(), "content", text));
        }
        return out;
    }

    private static void checkModel(JsonNode body, ServedModel model) {
        JsonNode name = body.get("model");
        if (name == null || name.isNull()) {
            return; // optional here: one model is served
        }
        if (!name.isTextual()) {
            throw ApiException.badRequest("model", "model must be a string, found " + typeOf(name));
        }
        if (!name.asText().equals(model.id())) {
            throw new ApiException(404, "invalid_request_error", "model", "model_not_found",
                    "the model '" + name.asText() + "' does not exist here; this server serves '" + model.id() + "'");
        }
    }

    private static ApiException contextExceeded(int context, int prompt, int completion) {
        return new ApiException(400, "invalid_request_error", "messages", "context_length_exceeded",
                "this model's maximum context length is " + context + " tokens, but " + (prompt + completion)
                        + " were requested (" + prompt + " in the prompt, " + completion + " for the completion)");
    }

    private static List<String> stops(JsonNode stop) {
        List<String> out = new ArrayList<>();
        if (stop == null || stop.isNull()) {
            return out;
        }
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray()) {
            if (stop.size() > 4) {
                throw ApiException.badRequest("stop", "at most 4 stop strings, found " + stop.size());
            }
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw ApiException.badRequest("stop", "stop must be a string or an array of strings, found an element " + typeOf(s));
                }
                out.add(s.asText());
            }
        } else {
            throw ApiException.badRequest("stop", "stop must be a string or an array of strings, found " + typeOf(stop));
        }
        if (out.stream().anyMatch(String::isEmpty)) {
            throw ApiException.badRequest("stop", "stop strings must not be empty");
        }
        return List.copyOf(out);
    }

    static Integer optInt(JsonNode body, String field, int min, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiException.badRequest(field, field + " must be an integer, found " + v);
        }
        int value = v.asInt();
        if (value < min || value > max) {
            throw ApiException.badRequest(field, field + " must be >= " + min + (max < Integer.MAX_VALUE ? " and <= " + max : "") + ", found " + value);
        }
        return value;
    }

    private static Long optLong(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.badRequest(field, field + " must be an integer, found " + v);
        }
        return v.asLong();
    }

    private static Double optNumber(JsonNode body, String field, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw ApiException.badRequest(field, field + " must be a number, found " + typeOf(v));
        }
        double value = v.asDouble();
        if (!(value >= min && value <= max)) {
            throw ApiException.badRequest(field, field + " must be between " + min + " and " + max + ", found " + v);
        }
        return value;
    }

    static Boolean optBoolean(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isBoolean()) {
            throw ApiException.badRequest(field, field + " must be a boolean, found " + typeOf(v));
        }
        return v.asBoolean();
    }

    private static String optString(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.badRequest(field, field + " must be a string, found " + typeOf(v));
        }
        return v.asText();
    }

    static String typeOf(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
