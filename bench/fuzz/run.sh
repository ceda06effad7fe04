#!/usr/bin/env bash
# Coverage-guided fuzz run (libFuzzer + AddressSanitizer) over every decoder of outside bytes:
# builds fuzz/ (debug, -sanitize=fuzzer,address, linked by lld), runs each target N seconds from its
# committed corpus (fuzz/corpus/<target>) and dictionary, and writes DIR/fuzz.md: executions,
# coverage (cov/ft), corpus size and crashes per target. Exit status 1 when any target left a crash.
#
#   bench/fuzz/run.sh --out DIR [--quick] [--seconds N] [--targets a,b] [--keep-corpus] [--release]
#   bench/fuzz/run.sh --build-only [--release]    # build, print the binary's path on stdout
#
# --quick: 10 s per target; default (full): 60 s; --seconds overrides both.
# --release: an optimised sanitizer build instead (much longer to build cold; fuzz/README.md, Cost).
# FED_FUZZ_BIN=path/to/federation-libfuzz skips the build (a binary built as below).
# Details, reproducing a crash, adding a target: fuzz/README.md.
set -euo pipefail

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

die() {
    echo "bench/fuzz/run.sh: $*" >&2
    exit 2
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=""
seconds=60
seconds_given=""
quick=""
only=""
keep_corpus=""
build_only=""
configuration=debug
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) [[ $# -ge 2 ]] || die "--out needs a folder"; out=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        --seconds)
            [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]{0,4}$ ]] || die "--seconds needs a whole number of seconds from 1 to 99999, got '${2:-}'"
            seconds_given=$2; shift 2 ;;
        --targets) [[ $# -ge 2 ]] || die "--targets needs a comma-separated list"; only=$2; shift 2 ;;
        --keep-corpus) keep_corpus=1; shift ;;
        --build-only) build_only=1; shift ;;
        --release) configuration=release; shift ;;
        -h | --help) usage 0 ;;
        *) echo "bench/fuzz/run.sh: unknown argument '$1'" >&2; usage 2 ;;
    esac
done
[[ -n "$out" || -n "$build_only" ]] || die "--out DIR is required (where fuzz.md, logs and crash files go)"
if [[ -n "$quick" ]]; then seconds=10; fi
if [[ -n "$seconds_given" ]]; then seconds=$seconds_given; fi
mode=$([[ -n "$quick" ]] && echo quick || echo full)

for tool in timeout od awk sed; do
    command -v "$tool" > /dev/null || die "'$tool' not found: install Debian's coreutils/gawk/sed (apt-get install -y coreutils gawk sed)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/fed-fuzz.XXXXXX")
child=""
cleanup() {
    if [[ -n "$child" ]] && kill -0 "$child" 2> /dev/null; then
        kill -INT "$child" 2> /dev/null || true
        sleep 1
        kill -KILL "$child" 2> /dev/null || true
        wait "$child" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "bench/fuzz/run.sh: interrupted" >&2; exit 130' INT TERM

if [[ -n "$build_only" ]]; then
    # stdout carries only the binary's path; progress goes to stderr.
    exec 3>&1 1>&2
    logs=${out:-$work}/fuzz-logs
    mkdir -p "$logs"
else
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    rm -rf "$out/fuzz-logs" "$out/crashes"
    mkdir -p "$out/fuzz-logs" "$out/crashes"
    logs=$out/fuzz-logs
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }

# --- build ---------------------------------------------------------------------------------------
# Every Swift module (ours and the packages') gets coverage counters and ASan; lld links it (the
# system's ld.gold is what swiftc picks by default; fuzz/README.md, How it is wired).
build_flags=(--package-path "$repo/fuzz" -c "$configuration")
build_command=(swift build "${build_flags[@]}" --product federation-libfuzz
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
build_seconds=""
if [[ -n "${FED_FUZZ_BIN:-}" ]]; then
    bin=$FED_FUZZ_BIN
    [[ -x "$bin" ]] || die "FED_FUZZ_BIN='$bin' is not an executable (build it: bench/fuzz/run.sh --build-only)"
    echo "fuzz: using FED_FUZZ_BIN=$bin (no build)"
else
    swift=$(command -v swift) || die "'swift' not found: install the Swift 6.3 toolchain (swift.org) and put its usr/bin on PATH"
    swift_bin=$(dirname "$(readlink -f "$swift")")
    [[ -x "$swift_bin/ld.lld" ]] || command -v ld.lld > /dev/null ||
        die "ld.lld not found beside $swift or on PATH: the toolchain's usr/bin ships it (Swift 6.3 for Linux), or apt-get install -y lld"
    echo "fuzz: building fuzz/ ($configuration, -sanitize=fuzzer,address; cold: many minutes) at load $(load)"
    start=$(date +%s)
    if ! "${build_command[@]}" > "$logs/build.log" 2>&1; then
        tail -30 "$logs/build.log" >&2
        die "the sanitizer build failed; full log: $logs/build.log"
    fi
    build_seconds=$(($(date +%s) - start))
    bin="$(swift build "${build_flags[@]}" --show-bin-path)/federation-libfuzz"
    echo "fuzz: built in ${build_seconds} s"
fi
if [[ -n "$build_only" ]]; then
    echo "$bin" >&3
    exit 0
fi

# The Swift runtime's own backtracer would symbolicate for up to 30 s on a trap; libFuzzer and
# ASan print the stack. Leak checking is off: the Swift runtime's caches (metadata, the parked
# node task) look like leaks to LeakSanitizer.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:symbolize=1

mapfile -t all_targets < <(FUZZ_TARGET=list "$bin")
[[ ${#all_targets[@]} -gt 0 ]] || die "'$bin' listed no targets (FUZZ_TARGET=list)"
targets=("${all_targets[@]}")
if [[ -n "$only" ]]; then
    IFS=',' read -r -a targets <<< "$only"
    for target in "${targets[@]}"; do
        printf '%s\n' "${all_targets[@]}" | grep -qxF -- "$target" || die "unknown target '$target'; known: ${all_targets[*]}"
    done
fi

dictionary() {
    case "$1" in
        gateway-headers) echo headers ;;
        node-multipart) echo multipart ;;
        node-answer) echo sse ;;
        config-yaml) echo yaml ;;
        *) echo json ;;
    esac
}

# --- run -----------------------------------------------------------------------------------------
load_before=$(load)
run_start=$(date +%s)
rows=()
crash_lines=()
total_execs=0
total_crashes=0
for target in "${targets[@]}"; do
    seeds="$repo/fuzz/corpus/$target"
    [[ -d "$seeds" ]] || die "no seed corpus for '$target': add fuzz/corpus/$target/ (fuzz/README.md, Adding a target)"
    corpus="$work/corpus/$target"
    artifacts="$out/crashes/$target"
    log="$out/fuzz-logs/$target.log"
    mkdir -p "$corpus" "$artifacts"
    dict="$repo/fuzz/dict/$(dictionary "$target").dict"
    echo "fuzz: $target (${seconds} s, load $(load))"
    set +e
    FUZZ_TARGET=$target timeout -k 10 $((seconds + 120)) "$bin" \
        -max_total_time="$seconds" -print_final_stats=1 -detect_leaks=0 -timeout=25 \
        -rss_limit_mb=2048 -dict="$dict" -artifact_prefix="$artifacts/" \
        "$corpus" "$seeds" > "$log" 2>&1 &
    child=$!
    wait "$child"
    status=$?
    child=""
    set -e
    # libFuzzer's status lines: "#1234 NEW cov: 567 ft: 890 corp: 12/3456b ..."; the last one wins.
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$last")
    corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<< "$last")
    execs=$(sed -nE 's/^stat::number_of_executed_units: +([0-9]+)/\1/p' "$log" | tail -1)
    [[ -n "$execs" ]] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$last")
    rate=$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)/\1/p' "$log" | tail -1)
    rss=$(sed -nE 's/^stat::peak_rss_mb: +([0-9]+)/\1/p' "$log" | tail -1)
    mapfile -t found < <(find "$artifacts" -type f | sort)
    crashes=${#found[@]}
    if [[ $crashes -eq 0 && $status -ne 0 ]]; then
        # No crash file but a failed run (the harness refused to start, timeout(1) killed it…).
        crash_lines+=("- **$target**: exited $status without a crash file; see \`$log\`")
        crashes=1
    fi
    for file in "${found[@]}"; do
        hex=$(od -An -tx1 -v -N 96 "$file" | tr -d ' \n')
        crash_lines+=("- **$target** \`$(basename "$file")\` ($(stat -c %s "$file") bytes, hex of the first 96: \`$hex\`): reproduce with \`FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $bin $file\`; log: \`$log\`")
    done
    if [[ ${#found[@]} -gt 0 ]]; then
        # What libFuzzer/ASan/the harness said, and the top of the stack.
        crash_lines+=('```')
        mapfile -t said < <(grep -m3 -E 'ERROR: (libFuzzer|AddressSanitizer)|contract failure|Fatal error|SUMMARY' "$log" || true)
        mapfile -t frames < <(grep -E '^ +#[0-9]+ 0x' "$log" | grep -vE '__sanitizer|fuzzer::|libc\.so|nptl/|stdlib/|signal/' | head -12 || true)
        crash_lines+=("${said[@]}" "${frames[@]}" '```')
    fi
    total_execs=$((total_execs + ${execs:-0}))
    total_crashes=$((total_crashes + crashes))
    rows+=("| $target | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | ${rss:-?} | $crashes |")
    echo "fuzz:   execs ${execs:-?}, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, crashes $crashes"
    if [[ -n "$keep_corpus" ]]; then
        mkdir -p "$out/corpus"
        rm -rf "${out:?}/corpus/$target"
        cp -r "$corpus" "$out/corpus/$target"
    fi
done
run_seconds=$(($(date +%s) - run_start))
load_after=$(load)

# --- report --------------------------------------------------------------------------------------
{
    echo "# Coverage-guided fuzz run (libFuzzer + ASan)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode mode, $seconds s per target, ${#targets[@]} targets;" \
        "$(nproc) cores, load average (1/5/15 min) $load_before before, $load_after after."
    if [[ -n "$build_seconds" ]]; then
        echo "Sanitizer build (\`${build_command[*]}\`): $build_seconds s" \
            "(cold or incremental, as fuzz/.build was)."
    elif [[ -n "${FED_FUZZ_BUILD_SECONDS:-}" ]]; then
        echo "Binary: \`$bin\` (FED_FUZZ_BIN), built before this run in ${FED_FUZZ_BUILD_SECONDS} s" \
            "(\`bench/fuzz/run.sh --build-only\`, cold or incremental, as fuzz/.build was)."
    else
        echo "Binary: \`$bin\` (FED_FUZZ_BIN, not built by this run)."
    fi
    echo
    echo "| target | s | executions | exec/s | cov | ft | corpus (files/bytes) | peak RSS MB | crashes |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "**Total: $total_execs executions, $total_crashes crashes, ${run_seconds} s of fuzzing.**"
    echo
    echo "cov = code edges covered (libFuzzer's 'cov'), ft = features (edges × hit-count buckets);" \
        "both counted over every instrumented module (our code and the packages it links), so compare" \
        "a target with itself across runs, not targets with each other."
    echo
    if [[ ${#crash_lines[@]} -gt 0 ]]; then
        echo "## Crashes"
        echo
        printf '%s\n' "${crash_lines[@]}"
        echo
    fi
    echo "Command: \`bench/fuzz/run.sh --out $out$([[ -n "$quick" ]] && echo ' --quick')$([[ -n "$seconds_given" ]] && echo " --seconds $seconds_given")$([[ -n "$only" ]] && echo " --targets $only")$([[ "$configuration" == release ]] && echo ' --release')\`" \
        "(logs: \`$out/fuzz-logs/\`, crash files: \`$out/crashes/<target>/\`)."
} > "$out/fuzz.md"

echo "fuzz: $total_execs executions, $total_crashes crashes in ${run_seconds} s; report: $out/fuzz.md"
if [[ $total_crashes -gt 0 ]]; then
    printf '%s\n' "${crash_lines[@]}" >&2
    exit 1
fi
