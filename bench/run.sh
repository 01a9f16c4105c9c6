#!/usr/bin/env bash
# Runs every benchmark scenario of BENCHMARKS.md on this machine and writes the results
# (Markdown tables, JSON lines and the machine's description) to bench/results/<time>/.
# Needs: the Rust toolchain, Node.js 20 with npm, redis-server and redis-cli, and for
# the browser figures the wasm32 target, wasm-bindgen-test-runner 0.2.130, chromium and
# chromedriver. Takes about 12 minutes.
#
# Scenarios 1-3 also measure the uWebSockets.js ceiling peer (bench/peers/uws), after
# vroom and Socket.IO. It is optional: when its packages do not install or it fails to
# run, the script says so and goes on without it.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out="bench/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
jsonl="$out/results.jsonl"

echo "== installing the Socket.IO peer"
(cd bench/peers/socketio && npm ci --no-audit --no-fund --loglevel=error)
echo "== installing the uWebSockets.js peer"
uws=1
(cd bench/peers/uws && npm ci --no-audit --no-fund --loglevel=error) \
  || { echo "warning: the uws peer did not install; skipping it"; uws=0; }

echo "== building the release relay and load generator"
cargo build --release -p vroom-relay -p vroom-bench
bench="$CARGO_TARGET_DIR/release/vroom-bench"
relay=(--relay-bin "$CARGO_TARGET_DIR/release/vroom-relay")

# Runs `vroom-bench <scenario args…>` against the uws peer, appending to the table file
# named first; a failure is reported, not fatal.
run_uws() {
  local table="$1"
  shift
  [[ $uws == 1 ]] || return 0
  "$bench" "$@" --peer uws --out "$jsonl" | tee -a "$out/$table" \
    || echo "warning: the uws peer failed in: $*"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
  echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "kernel: $(uname -r)"
  echo "open files per process: $(ulimit -n)"
  echo "rustc: $(rustc --version)"
  echo "node: $(node --version), socket.io $(node -p "require('./bench/peers/socketio/node_modules/socket.io/package.json').version")"
  if [[ $uws == 1 ]]; then
    echo "uws: $(node -p "require('./bench/peers/uws/node_modules/@trufflesuite/uws-js-unofficial/package.json').version")"
  fi
  echo "redis: $(redis-server --version | cut -d' ' -f3)"
  echo "commit: $(git rev-parse --short HEAD)"
} | tee "$out/machine.txt"

echo "== 1. idle connections"
"$bench" idle "${relay[@]}" --out "$jsonl" | tee "$out/1-idle.md"
run_uws 1-idle.md idle
echo "== 2. fan-out at saturation"
"$bench" fanout --conns 200 "${relay[@]}" --out "$jsonl" | tee "$out/2-fanout.md"
run_uws 2-fanout.md fanout --conns 200
echo "== 3. latency at 10k deliveries/s"
"$bench" latency "${relay[@]}" --out "$jsonl" | tee "$out/3-latency.md"
"$bench" latency --peer vroom --instances 2 "${relay[@]}" --out "$jsonl" | tee -a "$out/3-latency.md"
run_uws 3-latency.md latency
echo "== 4. Redis commands per relayed message"
"$bench" redis-commands "${relay[@]}" --out "$jsonl" | tee "$out/4-redis.md"
echo "== 5. client crypto, native"
cargo bench -p vroom-bench-wasm --bench crypto -- --warm-up-time 1 --measurement-time 3 \
  | grep -E "^[a-z_0-9]+/|time:|thrpt:" | tee "$out/5-crypto-native.txt"
echo "== 5. client crypto, WebAssembly in headless Chromium"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" \
  cargo test -p vroom-bench-wasm --target wasm32-unknown-unknown --profile wasm-release --test crypto -- --nocapture \
  | grep -E "^wasm " | tee "$out/5-crypto-wasm.txt"

echo "results in $out"
