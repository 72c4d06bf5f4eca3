package dev.lolcats4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.generate.Generator;
import dev.lolcats4j.generate.SamplingConfig;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.tokenizer.StreamingDecoder;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lolcats generate}: continue a prompt, streaming text as it is produced. */
@Command(name = "generate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Generate a continuation of a prompt (stops at EOS or after --max-new-tokens).",
            "Streams text to stdout (token ids if the model folder has no tokenizer.json);",
            "--json prints {\"token_ids\":[...generated only...], \"text\":\"...\"}."})
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Mixin
    SparseCacheOption sparseCache;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", paramLabel = "S", description = "Prompt text (needs tokenizer.json in the model folder).")
        String prompt;

        @Option(names = "--token-ids", paramLabel = "IDS", description = "Prompt as token ids, e.g. 1,2,3.")
        String tokenIds;
    }

    @Option(names = "--max-new-tokens", required = true, paramLabel = "N", description = "Upper bound on generated tokens (>= 1).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1",
            description = "Nucleus sampling mass in (0, 1] (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Random seed for sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object at the end instead of streaming.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        validateSampling();
        model.validate();
        sparseCache.validate(model);
        Optional<Tokenizer> tokenizer = model.tokenizer();
        try {
            int[] prompt;
            String source;
            if (input.tokenIds != null) {
                source = "--token-ids";
                prompt = TokenIds.parse(source, input.tokenIds);
            } else {
                source = "--prompt";
                prompt = InputText.require(tokenizer, model.modelDir()).encode(input.prompt);
            }
            if (prompt.length == 0) {
                throw new BadInputException(source + ": expected at least one token, found none");
            }
            DecoderModel m = model.load(err);
            sparseCache.apply(m);
            TokenIds.checkVocab(source, prompt, m.config().vocabSize());
            SamplingConfig sampling = new SamplingConfig(temperature, topP, seed, maxNewTokens);
            long start = System.nanoTime();
            int[] generated;
            if (json) {
                generated = new Generator(m).generate(prompt, sampling, null);
                ObjectNode node = Json.object();
                node.putPOJO("token_ids", generated);
                node.put("text", tokenizer.map(t -> t.decode(inVocab(generated, t))).orElse(""));
                out.println(Json.write(node));
            } else if (tokenizer.isPresent()) {
                Tokenizer t = tokenizer.get();
                StreamingDecoder decoder = new StreamingDecoder(t);
                generated = new Generator(m).generate(prompt, sampling, id -> {
                    if (id < t.vocabSize()) {
                        out.print(decoder.push(id));
                        out.flush();
                    }
                });
                out.println(decoder.flush());
            } else {
                boolean[] first = {true};
                generated = new Generator(m).generate(prompt, sampling, id -> {
                    out.print(first[0] ? Integer.toString(id) : "," + id);
                    first[0] = false;
                    out.flush();
                });
                out.println();
            }
            out.flush();
            double seconds = (System.nanoTime() - start) / 1e9;
            err.printf(Locale.ROOT, "generated %d tokens after a %d-token prompt in %.2f s (%.1f tokens/s)%n",
                    generated.length, prompt.length, seconds, generated.length / Math.max(seconds, 1e-9));
            err.flush();
            return Main.EXIT_OK;
        } finally {
            tokenizer.ifPresent(Tokenizer::close);
        }
    }

    private void validateSampling() {
        if (maxNewTokens < 1) {
            throw new BadInputException("--max-new-tokens: expected >= 1, found " + maxNewTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new BadInputException("--temperature: expected a finite number >= 0 (0 = greedy), found " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new BadInputException("--top-p: expected a number in (0, 1], found " + topP);
        }
    }

    /** Ids the tokenizer can decode (a model's vocabulary may be padded beyond the tokenizer's). */
    private static int[] inVocab(int[] ids, Tokenizer tokenizer) {
        return Arrays.stream(ids).filter(id -> id >= 0 && id < tokenizer.vocabSize()).toArray();
    }
}
