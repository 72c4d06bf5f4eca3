# Sourced by ./lolcats and .ci/run: finds a JDK >= 22. The sources are Java 21 language level,
# but the build compiles against the running JDK's API and the decode kernels use the foreign
# memory API, final only since JDK 22 (a preview in 21), so 21 cannot build or run them. Defines:
#   lolcats_java_major JAVA_BIN  -> prints the feature version (17, 21, 25, ...) of that java
#   lolcats_find_jdk             -> prints the JDK home: $JAVA_HOME if >= 22, else the `java`
#                                   on PATH if >= 22, else the newest /usr/lib/jvm/*/ >= 22;
#                                   returns 1 with a message on stderr if there is none.
# A JDK means a folder with bin/java and bin/javac (Maven needs the compiler).

LOLCATS_MIN_JAVA=22

lolcats_java_major() {
    local java="$1" home version
    home="$(dirname "$(dirname "$java")")"
    # Fast path: the JDK's release file, no JVM start.
    if [ -f "$home/release" ]; then
        version="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release")"
    fi
    if [ -z "${version:-}" ]; then
        version="$("$java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
    fi
    version="${version#1.}"          # 1.8.0_x -> 8.0_x
    version="${version%%[.+_-]*}"    # 25.0.3 -> 25
    case "$version" in
        ''|*[!0-9]*) echo 0 ;;
        *) echo "$version" ;;
    esac
}

lolcats_is_jdk() {
    local home="$1"
    [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] \
        && [ "$(lolcats_java_major "$home/bin/java")" -ge "$LOLCATS_MIN_JAVA" ]
}

lolcats_find_jdk() {
    local candidate best="" best_major=0 major
    if [ -n "${JAVA_HOME:-}" ] && lolcats_is_jdk "$JAVA_HOME"; then
        echo "$JAVA_HOME"
        return 0
    fi
    if command -v java >/dev/null 2>&1; then
        candidate="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
        if lolcats_is_jdk "$candidate"; then
            echo "$candidate"
            return 0
        fi
    fi
    for candidate in /usr/lib/jvm/*/; do
        candidate="${candidate%/}"
        if lolcats_is_jdk "$candidate"; then
            major="$(lolcats_java_major "$candidate/bin/java")"
            if [ "$major" -gt "$best_major" ]; then
                best="$candidate"
                best_major="$major"
            fi
        fi
    done
    if [ -n "$best" ]; then
        echo "$best"
        return 0
    fi
    {
        echo "lolcats: no JDK >= $LOLCATS_MIN_JAVA found (looked at \$JAVA_HOME${JAVA_HOME:+=$JAVA_HOME}, 'java' on PATH and /usr/lib/jvm/*)."
        echo "lolcats: install one (e.g. Temurin 25) and set JAVA_HOME to it."
    } >&2
    return 1
}

# Options for running Maven itself on JDK $1 (a JDK home): Maven 3.8/3.9 bundle a Guava that
# calls sun.misc.Unsafe, which JDK 24+ warns about on every build.
lolcats_maven_opts() {
    if [ "$(lolcats_java_major "$1/bin/java")" -ge 24 ]; then
        echo "--sun-misc-unsafe-memory-access=allow"
    fi
}

