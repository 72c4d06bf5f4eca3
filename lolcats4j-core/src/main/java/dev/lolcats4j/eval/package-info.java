/**
 * Evaluation harness: perplexity, lm-eval-style multiple choice and recall probes, on one
 * model or side by side (base, linearized, swapped-untrained).
 *
 * <h2>Task files</h2>
 * A {@code .txt} file is a perplexity task over its text. Otherwise JSONL (see
 * {@link dev.lolcats4j.eval.TaskFiles} for every option):
 * <pre>
 * {"task": "multiple_choice", "name": "piqa", "num_fewshot": 0, "seed": 1234}      (optional header)
 * {"context": "To open a jar,", "choices": [" twist the lid.", " eat the lid."], "gold": 0}
 *
 * {"task": "perplexity", "files": ["heldout.txt"], "windows": "sliding", "context": 1024, "stride": 512}
 * {"text": "an inline held-out paragraph"}                                         (optional items)
 *
 * {"task": "passkey", "lengths": [256, 512, 1024], "trials": 10, "seed": 0, "mode": "auto"}
 * {"task": "mqar", "lengths": [64, 128, 256], "trials": 10, "pairs": 0}
 * </pre>
 *
 * <h2>Metrics</h2>
 * <ul>
 *   <li>multiple choice: {@code acc} (argmax of the continuation log-likelihood sum),
 *       {@code acc_norm} (sum divided by the choice's UTF-8 byte length); ties go to the
 *       first choice. Choices are appended to the context verbatim; few-shot examples are
 *       "context + gold choice", joined by the delimiter, drawn per item from the other items
 *       with a generator seeded by (seed, item index).
 *   <li>perplexity: {@code token_perplexity} = exp(total NLL / scored tokens) and
 *       {@code bits_per_byte} = total NLL / (UTF-8 bytes * ln 2); each document is encoded
 *       with the model's tokenizer (BOS as it adds it) and every token after the first is
 *       scored once ({@link dev.lolcats4j.eval.Perplexity.Windows}).
 *   <li>passkey, mqar: {@code acc@L} per sequence length L and {@code acc_mean}; an answer is
 *       right when all its tokens are the greedy prediction under teacher forcing.
 * </ul>
 *
 * <h2>Entry points</h2>
 * {@link dev.lolcats4j.eval.EvalRunner#evaluate} and {@link dev.lolcats4j.eval.EvalRunner#compare}
 * return an {@link dev.lolcats4j.eval.EvalReport} with {@code toMarkdown()} and
 * {@code toJson()}; bad task files throw {@link dev.lolcats4j.BadInputException} naming file and
 * line. {@link dev.lolcats4j.eval.ClozeTaskBuilder} makes a multiple-choice task from held-out text.
 */
package dev.lolcats4j.eval;
