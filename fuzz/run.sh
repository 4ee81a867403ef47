#!/usr/bin/env bash
# Runs each fuzz target for a fixed number of inputs on the stable toolchain (cargo-fuzz with
# libFuzzer, no sanitizer), starting from the seeds `examples/fuzz_seeds.rs` writes.
#
#   bash fuzz/run.sh [RUNS] [TARGET…]      # default: 100000 runs of onnx images bif csv proto
#
# The targets decode within a 64 MiB budget (BIF: 16 MiB), so a run whose memory passes
# 512 MB is a failure too (libFuzzer saves the input as oom-…).
#
# New inputs that reach new code are kept in fuzz/corpus/TARGET (not committed); an input
# that crashes a target is saved in fuzz/artifacts/TARGET/ and the run stops with its path:
# turn it into a regression test in the crate it hit, then fix the bug.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100000}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(onnx images bif csv proto)
fi
if ! command -v cargo-fuzz > /dev/null; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
seeds=target/fuzz-seeds
rm -rf "$seeds"
cargo run --quiet --example fuzz_seeds -- "$seeds"
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  log="target/fuzz-$target.log"
  (cd fuzz && cargo fuzz run --sanitizer none "$target" "corpus/$target" "../$seeds/$target" -- \
    -runs="$runs" -max_len=262144 -rss_limit_mb=512 -timeout=30 -print_final_stats=1) \
    > "$log" 2>&1 || { tail -40 "$log"; echo "fuzz target $target failed; see $log"; exit 1; }
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "$target: $executed inputs, $coverage, corpus $(ls "fuzz/corpus/$target" | wc -l) files, no crash"
done
