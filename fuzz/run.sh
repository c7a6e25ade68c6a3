#!/bin/bash
# Runs each libFuzzer target for a bounded time and prints executions and findings per target.
# usage: fuzz/run.sh SECONDS TARGET...   (from the repository root, after the fuzz build; see Makefile)
set -u
seconds=$1; shift
status=0
mkdir -p fuzz/crashes
for t in "$@"; do
    mkdir -p ".build-fuzz/corpus/$t"
    log=".build-fuzz/$t.log"
    # No Swift backtracer: libFuzzer reports the crash and saves the input; the backtracer would only add 30 s.
    SWIFT_BACKTRACE=enable=no ".build-fuzz/release/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 \
        -rss_limit_mb=4096 -artifact_prefix="fuzz/crashes/$t-" ".build-fuzz/corpus/$t" "fuzz/corpus/$t" $(ls -d "fuzz/regressions/$t" 2>/dev/null) > "$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    if [ $rc -eq 0 ]; then
        echo "$t: ${runs:-?} executions in ${seconds} s, corpus ${corpus:-?} inputs, no crash"
    else
        status=1
        echo "$t: FOUND A PROBLEM after ${runs:-?} executions (exit $rc); input saved under fuzz/crashes/, log $log:"
        grep -E 'ERROR|Fatal error|panic|deadly signal|SUMMARY' "$log" | head -5
    fi
done
exit $status
