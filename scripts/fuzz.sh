#!/bin/sh
# The long fuzz run: the seeded fuzzers of Tests/LogshipCoreTests/Fuzz (pipeline loader,
# NDJSON/CSV/line decoders with the transformer, gzip reader, DEFLATE decoder against zlib,
# the emulator's HTTP server)
# with many more inputs than `swift test` tries.
#
#   scripts/fuzz.sh [ITERATIONS] [SEED]      defaults: 50000, 1
#
# The same ITERATIONS and SEED give the same inputs. Each fuzzer writes the input it is about
# to try to .build/fuzz/<target>.current: after a crash that file is the reproducer.
# One test at a time (long CPU-bound tests side by side starve each other's time limits).
# Stops after FUZZ_TIMEOUT seconds (default 3600): a run that long is a hang.
set -eu
cd "$(dirname "$0")/.."
iterations="${1:-50000}"
seed="${2:-1}"
artifacts="$PWD/.build/fuzz"
mkdir -p "$artifacts"
rm -f "$artifacts"/*.current
swift build --build-tests
echo "fuzzing: $iterations inputs per target, seed $seed; reproducers in $artifacts"
status=0
LOGSHIP_FUZZ_ITERATIONS="$iterations" LOGSHIP_FUZZ_SEED="$seed" LOGSHIP_FUZZ_ARTIFACTS="$artifacts" \
    timeout "${FUZZ_TIMEOUT:-3600}" swift test --skip-build --no-parallel --filter 'FuzzTests' || status=$?
if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: failed (status $status); the last input of each target:" >&2
    ls -l "$artifacts"/*.current >&2 || true
    exit "$status"
fi
echo "fuzz.sh: no crash, hang or failed check"
