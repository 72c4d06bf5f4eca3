package dev.lolcats4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hugging Face chat templates (Jinja2) rendered through Jinjava. Expected strings are written
 * by hand from the templates' Jinja2 semantics (trim_blocks and lstrip_blocks on, as in
 * transformers), not from this code's output.
 */
class ChatTemplateTest {

    /** Llama 2's template: raise_exception, loop.index0, slicing, string methods. */
    static final String LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
            + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
            + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if loop.index0 == 0 and system_message != false %}"
            + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
            + "{% else %}{% set content = message['content'] %}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    /** ChatML (Qwen2's shape) with a namespace and whitespace control, one statement per line. */
    static final String CHATML = """
            {%- set ns = namespace(system=false) -%}
            {%- for message in messages -%}
                {%- if message.role == 'system' -%}{%- set ns.system = true -%}{%- endif -%}
            {%- endfor -%}
            {%- if not ns.system -%}
            <|im_start|>system
            You are helpful.<|im_end|>
            {% endif -%}
            {%- for message in messages -%}
            <|im_start|>{{ message.role }}
            {{ message.content }}<|im_end|>
            {% endfor -%}
            {%- if add_generation_prompt -%}
            <|im_start|>assistant
            {% endif -%}
            """;

    private static List<Map<String, Object>> chat(String... roleContent) {
        List<Map<String, Object>> out = new java.util.ArrayList<>();
        for (int i = 0; i < roleContent.length; i += 2) {
            out.add(Map.of("role", roleContent[i], "content", roleContent[i + 1]));
        }
        return out;
    }

    @Test
    void llama2WithASystemPrompt() {
        ChatTemplate t = new ChatTemplate(LLAMA2, "<s>", "</s>");
        String out = t.render(chat("system", "Be brief.", "user", "  Hi there ", "assistant", "Hello! ", "user", "Bye"), true);
        // strip() applies to the whole content, system block included: the user's leading
        // spaces stay, as in Python.
        assertEquals("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n  Hi there [/INST] Hello! </s><s>[INST] Bye [/INST]", out);
    }

    @Test
    void raiseExceptionFailsTheRenderWithTheTemplatesMessage() {
        ChatTemplate t = new ChatTemplate(LLAMA2, "<s>", "</s>");
        ChatTemplate.RenderException e = assertThrows(ChatTemplate.RenderException.class,
                () -> t.render(chat("assistant", "I start", "user", "no"), true));
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
    }

    @Test
    void chatMlWithNamespaceAndGenerationPrompt() {
        ChatTemplate t = new ChatTemplate(CHATML, "", "<|im_end|>");
        assertEquals("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                t.render(chat("user", "Hi"), true));
        assertEquals("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
                t.render(chat("system", "S", "user", "Hi"), false));
    }

    @Test
    void readsTheTemplateFromTokenizerConfig(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": {\"content\": \"<s>\"}, \"eos_token\": \"</s>\", \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"},"
                        + " {\"name\": \"default\", \"template\": \"{{ bos_token }}{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}\"}]}");
        ChatTemplate t = ChatTemplate.forModel(dir).orElseThrow();
        assertEquals("<s>a</s>b</s>", t.render(chat("user", "a", "assistant", "b"), false));
    }

    @Test
    void noTemplateIsEmptyAndABadOneIsBadInput(@TempDir Path dir) throws IOException {
        assertTrue(ChatTemplate.forModel(dir).isEmpty(), "no tokenizer_config.json");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
        assertTrue(ChatTemplate.forModel(dir).isEmpty(), "no chat_template");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": 7}");
        BadInputException e = assertThrows(BadInputException.class, () -> ChatTemplate.forModel(dir));
        assertTrue(e.getMessage().contains("chat_template"), e.getMessage());
    }
}
