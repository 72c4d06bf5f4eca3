package dev.lolcats4j;

import java.nio.file.Path;

/**
 * Input that the user supplied is wrong: a malformed file, a missing field, a shape that does
 * not fit. The message is one line naming the file, the field and what was expected versus
 * found; the CLI prints it and exits with code 2.
 */
public final class BadInputException extends RuntimeException {

    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "file: field: expected X, found Y" style message. */
    public static BadInputException at(Path file, String field, String problem) {
        return new BadInputException(file + ": " + field + ": " + problem);
    }
}
