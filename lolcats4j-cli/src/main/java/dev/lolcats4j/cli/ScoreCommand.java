package dev.lolcats4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lolcats4j.BadInputException;
import dev.lolcats4j.generate.Scorer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lolcats score}: teacher-forced log-probabilities, mean NLL and perplexity of a text. */
@Command(name = "score", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Score a token sequence: logprobs[t] = log p(token_ids[t+1] | token_ids[0..t]).",
            "Prints tokens, mean NLL (nats/token) and perplexity; --json prints",
            "{\"token_ids\":[...], \"logprobs\":[...], \"mean_nll\":x, \"perplexity\":y}."})
final class ScoreCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Mixin
    SparseCacheOption sparseCache;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "S", description = "Text to score (needs tokenizer.json in the model folder).")
        String text;

        @Option(names = "--file", paramLabel = "F", description = "UTF-8 text file to score (needs tokenizer.json).")
        Path file;

        @Option(names = "--token-ids", paramLabel = "IDS", description = "Token ids to score, e.g. 1,2,3.")
        String tokenIds;
    }

    @Option(names = "--json", description = "Print one JSON object instead of a summary.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        model.validate();
        sparseCache.validate(model);
        Optional<Tokenizer> tokenizer = Optional.empty();
        try {
            int[] ids;
            String source;
            if (input.tokenIds != null) {
                source = "--token-ids";
                ids = TokenIds.parse(source, input.tokenIds);
            } else {
                source = input.text != null ? "--text" : "--file " + input.file;
                String text = input.text != null ? input.text : InputText.readFile("--file", input.file);
                tokenizer = model.tokenizer();
                ids = InputText.require(tokenizer, model.modelDir()).encode(text);
            }
            if (ids.length < 2) {
                throw new BadInputException(source + ": expected at least 2 tokens to score, found " + ids.length);
            }
            DecoderModel m = model.load(err);
            sparseCache.apply(m);
            TokenIds.checkVocab(source, ids, m.config().vocabSize());
            double[] logprobs = Scorer.logprobs(m, ids);
            double meanNll = Scorer.meanNll(logprobs);
            double perplexity = Math.exp(meanNll);
            if (json) {
                ObjectNode node = Json.object();
                node.putPOJO("token_ids", ids);
                node.putPOJO("logprobs", logprobs);
                node.put("mean_nll", meanNll);
                node.put("perplexity", perplexity);
                out.println(Json.write(node));
            } else {
                out.printf(Locale.ROOT, "tokens      %d (%d scored)%n", ids.length, logprobs.length);
                out.printf(Locale.ROOT, "mean NLL    %.6f nats/token%n", meanNll);
                out.printf(Locale.ROOT, "perplexity  %.4f%n", perplexity);
            }
            out.flush();
            return Main.EXIT_OK;
        } finally {
            tokenizer.ifPresent(Tokenizer::close);
        }
    }
}
