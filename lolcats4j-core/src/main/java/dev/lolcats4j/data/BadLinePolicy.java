package dev.lolcats4j.data;

/** What to do with a malformed data line: stop with an error, or report it and skip it. */
public enum BadLinePolicy {
    FAIL,
    SKIP
}
