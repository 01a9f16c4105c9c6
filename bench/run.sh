#!/usr/bin/env bash
# Runs every benchmark scenario of BENCHMARKS.md on this machine and writes the results
# (Markdown tables, JSON lines and the machine's description) to bench/results/<time>/.
# Needs: the Rust toolchain, Node.js 20 with npm, redis-server and redis-cli, and for
# the browser figures the wasm32 target, wasm-bindgen-test-runner 0.2.130, chromium and
# chromedriver. Takes about 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out="bench/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
jsonl="$out/results.jsonl"

echo "== installing the Socket.IO peer"
(cd bench/peers/socketio && npm ci --no-audit --no-fund --loglevel=error)

echo "== building the release relay and load generator"
cargo build --release -p vroom-relay -p vroom-bench
bench="$CARGO_TARGET_DIR/release/vroom-bench"
relay=(--relay-bin "$CARGO_TARGET_DIR/release/vroom-relay")

{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
  echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "kernel: $(uname -r)"
  echo "open files per process: $(ulimit -n)"
  echo "rustc: $(rustc --version)"
  echo "node: $(node --version), socket.io $(node -p "require('./bench/peers/socketio/node_modules/socket.io/package.json').version")"
  echo "redis: $(redis-server --version | cut -d' ' -f3)"
  echo "commit: $(git rev-parse --short HEAD)"
} | tee "$out/machine.txt"

echo "== 1. idle connections"
"$bench" idle "${relay[@]}" --out "$jsonl" | tee "$out/1-idle.md"
echo "== 2. fan-out at saturation"
"$bench" fanout --conns 200 "${relay[@]}" --out "$jsonl" | tee "$out/2-fanout.md"
echo "== 3. latency at 10k deliveries/s"
"$bench" latency "${relay[@]}" --out "$jsonl" | tee "$out/3-latency.md"
"$bench" latency --peer vroom --instances 2 "${relay[@]}" --out "$jsonl" | tee -a "$out/3-latency.md"
echo "== 4. Redis commands per relayed message"
"$bench" redis-commands "${relay[@]}" --out "$jsonl" | tee "$out/4-redis.md"
echo "== 5. client crypto, native"
cargo bench -p vroom-shared --bench crypto -- --warm-up-time 1 --measurement-time 3 \
  | grep -E "^[a-z_0-9]+/|time:|thrpt:" | tee "$out/5-crypto-native.txt"
echo "== 5. client crypto, WebAssembly in headless Chromium"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
  cargo test -p vroom-bench-wasm --target wasm32-unknown-unknown --release --test crypto -- --nocapture \
  | grep -E "^wasm " | tee "$out/5-crypto-wasm.txt"

echo "results in $out"
