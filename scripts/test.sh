#!/usr/bin/env bash
# Installs what the build needs, builds everything (CUDA code too, when nvcc is present) and runs
# the whole test suite. GPU tests skip themselves when no device is usable.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build=${LOCENT_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja ${LOCENT_CMAKE_ARGS:-}
cmake --build "$build" -j "${LOCENT_JOBS:-2}"
ctest --test-dir "$build" --output-on-failure -j "${LOCENT_JOBS:-2}"
