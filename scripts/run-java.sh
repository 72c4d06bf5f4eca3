# Sourced by ./lolcats (and the CLI tests): runs a java command line with stderr filtered.
#   lolcats_run_filtered CMD ARGS...  -> runs the command, returns its exit code
#   lolcats_filter_stderr             -> the filter itself (stdin to stdout)
#
# The JVM prints "WARNING: Using incubator modules: jdk.incubator.vector" as the first line of
# stderr whenever that module is added (the decode kernels need it), and no JVM flag turns it
# off. It is noise before every message, and on bad input the contract is exactly one `error:`
# line on stderr. The filter drops that line if it is the first one and passes everything after
# it through `cat` unbuffered (progress lines ending in \r are not held back).
LOLCATS_INCUBATOR_WARNING="WARNING: Using incubator modules: jdk.incubator.vector"

lolcats_filter_stderr() {
    local first
    # bash reads a pipe byte by byte here, so nothing past the first line is consumed.
    if IFS= read -r first; then
        [ "$first" = "$LOLCATS_INCUBATOR_WARNING" ] || printf '%s\n' "$first"
    else
        printf '%s' "$first"  # stderr ended without a newline
    fi
    exec cat
}

# Waits for the command and then for the filter, so that every stderr byte is written before
# this returns the command's exit code. The command runs in the background only so that a
# signal to this shell can be passed on to it (bash runs traps only between commands); stdin
# is handed over through fd 3.
lolcats_run_filtered() {
    local filter_pid cmd_pid status
    exec 3<&0
    exec 4> >(lolcats_filter_stderr >&2)
    filter_pid=$!
    "$@" <&3 2>&4 3<&- 4>&- &
    cmd_pid=$!
    exec 3<&- 4>&-
    # shellcheck disable=SC2064 # the pid is fixed now
    trap "kill -TERM $cmd_pid 2>/dev/null" INT TERM HUP
    while :; do
        status=0
        wait "$cmd_pid" || status=$?
        kill -0 "$cmd_pid" 2>/dev/null || break  # else a trapped signal interrupted the wait
    done
    trap - INT TERM HUP
    wait "$filter_pid" 2>/dev/null || true
    return "$status"
}
