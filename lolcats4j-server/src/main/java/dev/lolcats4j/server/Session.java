package dev.lolcats4j.server;

import dev.lolcats4j.generate.SamplingConfig;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One generation request inside the {@link Engine}: its prompt and sampling, the events the
 * decode loop sends back (tokens, then one end), and a cancel flag the request's thread sets
 * when its client goes away or a stop string matched. The decode loop drops a cancelled
 * session before its next step, which frees its slot and its caches.
 */
public final class Session {

    /** What the decode loop reports. */
    public sealed interface Event {}

    /** A generated token. */
    public record Token(int id) implements Event {}

    /** The end: "stop" (an end-of-sequence token), "length" (max_tokens or the context), or a failure. */
    public record End(String finishReason, String error) implements Event {}

    final int[] prompt;
    final SamplingConfig sampling;
    final long createdNanos = System.nanoTime();
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;

    Session(int[] prompt, SamplingConfig sampling) {
        this.prompt = prompt;
        this.sampling = sampling;
    }

    public int promptTokens() {
        return prompt.length;
    }

    /** Asks the decode loop to drop this session (idempotent). */
    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** The next event, waiting up to the timeout; null if none came. */
    public Event next(long timeout, TimeUnit unit) throws InterruptedException {
        return events.poll(timeout, unit);
    }

    void emit(Event event) {
        events.add(event);
    }
}
