package dev.lolcats4j.io;

import java.io.IOException;

/** A consumer that may throw {@link IOException}, e.g. a body that writes to a stream. */
@FunctionalInterface
public interface IOConsumer<T> {
    void accept(T value) throws IOException;
}
