package dev.lolcats4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model's chat template: the Jinja2 text of {@code chat_template} in tokenizer_config.json,
 * rendered with Jinjava as Hugging Face's {@code apply_chat_template} renders it with Python's
 * Jinja2: variables {@code messages}, {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token}, and the function {@code raise_exception(message)}, which makes the
 * request fail with the template's message.
 */
public final class ChatTemplate {

    /** A message the template rejected ({@code raise_exception}) or could not render. */
    public static final class RenderException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RenderException(String message) {
            super(message);
        }
    }

    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
    }

    /**
     * The template of a model folder's tokenizer_config.json, or empty when the folder has no
     * such file or the file no {@code chat_template}.
     *
     * @throws BadInputException when the file is not JSON or the field is not a template
     */
    public static Optional<ChatTemplate> forModel(Path modelDir) {
        Path file = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        JsonNode config;
        try {
            config = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        JsonNode node = config.path("chat_template");
        if (node.isMissingNode() || node.isNull()) {
            return Optional.empty();
        }
        String text = null;
        if (node.isTextual()) {
            text = node.asText();
        } else if (node.isArray()) {
            // Several named templates: the one called "default", as Hugging Face picks.
            for (JsonNode named : node) {
                if ("default".equals(named.path("name").asText())) {
                    text = named.path("template").asText(null);
                }
            }
        }
        if (text == null) {
            throw new BadInputException(file + ": chat_template: expected a string (or a list with a \"default\" template), found " + node.getNodeType());
        }
        return Optional.of(new ChatTemplate(text, token(config, "bos_token"), token(config, "eos_token")));
    }

    /** A special token of tokenizer_config.json: a string, or an object with "content". */
    private static String token(JsonNode config, String field) {
        JsonNode node = config.path(field);
        if (node.isTextual()) {
            return node.asText();
        }
        return node.path("content").asText("");
    }

    /**
     * Renders the conversation.
     *
     * @param messages each with "role" and "content" (strings)
     * @param addGenerationPrompt whether to open the assistant's turn
     * @throws RenderException with the template's own message when it raises, or Jinjava's
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        Map<String, Object> context = new HashMap<>();
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RAISED.remove();
        try {
            RenderResult result = jinjava.renderForResult(template, context);
            String raised = RAISED.get();
            if (raised != null) {
                throw new RenderException(raised);
            }
            for (TemplateError error : result.getErrors()) {
                if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                    throw new RenderException("chat template: " + error.getMessage());
                }
            }
            return result.getOutput();
        } finally {
            RAISED.remove();
        }
    }

    /** {@code raise_exception(message)} inside a template: remembered, the render then fails. */
    public static String raiseException(String message) {
        if (RAISED.get() == null) {
            RAISED.set(message);
        }
        return "";
    }
}
