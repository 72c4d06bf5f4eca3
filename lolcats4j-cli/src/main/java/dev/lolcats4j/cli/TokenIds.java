package dev.lolcats4j.cli;

import dev.lolcats4j.BadInputException;
import java.util.Arrays;

/** Parsing and checking of token id lists given on the command line ({@code 1,2,3}). */
final class TokenIds {

    private TokenIds() {}

    /** Parses comma- (or space-) separated non-negative integers; names the flag on error. */
    static int[] parse(String flag, String text) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            throw new BadInputException(flag + ": expected comma-separated token ids like 1,2,3, found an empty list");
        }
        String[] parts = trimmed.split("\\s*,\\s*|\\s+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            try {
                ids[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new BadInputException(flag + ": expected comma-separated token ids like 1,2,3, found \""
                        + p + "\" at position " + (i + 1));
            }
            if (ids[i] < 0) {
                throw new BadInputException(flag + ": token id " + ids[i] + " at position " + (i + 1) + " is negative");
            }
        }
        return ids;
    }

    /** Rejects ids outside [0, vocabSize) before they reach the model, naming the source. */
    static void checkVocab(String source, int[] ids, int vocabSize) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new BadInputException(source + ": token id " + ids[i] + " at position " + (i + 1)
                        + ": expected 0 <= id < vocab_size (" + vocabSize + ")");
            }
        }
    }

    static String join(int[] ids) {
        return String.join(",", Arrays.stream(ids).mapToObj(Integer::toString).toList());
    }
}
