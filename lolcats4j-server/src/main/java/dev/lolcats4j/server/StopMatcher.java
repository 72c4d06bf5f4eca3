package dev.lolcats4j.server;

import java.util.List;

/**
 * Applies a request's stop strings to streamed text: text is released only once no stop
 * string can start inside it, and the first full match ends the output just before it (the
 * stop string itself is not returned, as in the OpenAI API).
 */
final class StopMatcher {

    private final List<String> stops;
    private final int longest;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = stops;
        this.longest = stops.stream().mapToInt(String::length).max().orElse(0);
    }

    /** Adds new text; returns what can be sent now. After a match, {@link #stopped()} is true. */
    String push(String text) {
        if (stopped) {
            return "";
        }
        if (stops.isEmpty()) {
            return text;
        }
        held.append(text);
        int first = -1;
        for (String stop : stops) {
            int at = held.indexOf(stop);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = held.substring(0, first);
            held.setLength(0);
            return out;
        }
        // Hold back the tail that could still grow into a stop string.
        int keep = Math.min(held.length(), longest - 1);
        for (; keep > 0; keep--) {
            String tail = held.substring(held.length() - keep);
            if (stops.stream().anyMatch(s -> s.startsWith(tail))) {
                break;
            }
        }
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    /** The held-back text, at the end of a generation that did not stop on a string. */
    String flush() {
        String out = stopped ? "" : held.toString();
        held.setLength(0);
        return out;
    }

    boolean stopped() {
        return stopped;
    }
}
