# Sourced by ./lolcats: which malloc library to preload for libtorch's tensors
# (docs/performance.md, "Allocator").
#   lolcats_allocator_preload SETTING CURRENT
#       SETTING: LOLCATS_ALLOCATOR (auto, glibc, or a malloc shared library); CURRENT: the
#       user's LD_PRELOAD. Prints the LD_PRELOAD to run with (possibly empty). A SETTING that is
#       none of these prints one line on stderr and returns 2.
#   LOLCATS_TCMALLOC_PATHS   where auto looks for tcmalloc, colon-separated (default: the usual
#                            Debian/Ubuntu/Fedora locations)

LOLCATS_TCMALLOC_PATHS="${LOLCATS_TCMALLOC_PATHS:-/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4:/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4:/usr/lib64/libtcmalloc_minimal.so.4:/usr/lib/libtcmalloc_minimal.so.4}"

lolcats_allocator_preload() {
    local setting="$1" current="$2" lib
    case "$setting" in
        glibc)
            printf '%s' "$current" ;;
        auto)
            # A user's own LD_PRELOAD is theirs to choose.
            if [ -n "$current" ]; then
                printf '%s' "$current"
                return 0
            fi
            local IFS=:
            for lib in $LOLCATS_TCMALLOC_PATHS; do
                if [ -r "$lib" ]; then
                    printf '%s' "$lib"
                    return 0
                fi
            done ;;
        *)
            # A file that is not a shared library would only make the loader warn in every process.
            if [ ! -f "$setting" ] || [ "$(head -c 4 "$setting" 2>/dev/null | tr -d '\177')" != "ELF" ]; then
                echo "lolcats: LOLCATS_ALLOCATOR: expected auto, glibc or a malloc shared library (ELF file), found '$setting'" >&2
                return 2
            fi
            printf '%s' "$(readlink -f "$setting")${current:+ $current}" ;;
    esac
}
