#!/usr/bin/env bash
# A file between two native clients through one relay on loopback: throughput
# (MB/s, against a plain loopback TCP copy of the same bytes) and the relay's peak
# RSS while the file streams, with the received file's SHA-256 compared.
#
#   bench/files/run.sh [SIZE_MB]        (default 200; builds release binaries first)
#   VROOM_BENCH_PROFILE=debug bench/files/run.sh 20
#
# Prints one line per figure; BENCHMARKS.md §files records a run.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MB=${1:-200}
PROFILE=${VROOM_BENCH_PROFILE:-release}
if [ -n "${VROOM_BENCH_SKIP_BUILD:-}" ]; then
    :
elif [ "$PROFILE" = release ]; then
    cargo build -q --release -p vroom-relay -p vroom-cli
else
    cargo build -q -p vroom-relay -p vroom-cli
fi
BIN=target/$PROFILE
WORK=$(mktemp -d)
cleanup() {
    for pid in ${RELAY:-} ${ADA:-} ${BOB:-}; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

head -c "$((SIZE_MB * 1000 * 1000))" /dev/urandom > "$WORK/file.bin"
WANT=$(sha256sum "$WORK/file.bin" | cut -d' ' -f1)

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/vroom-relay" --listen "127.0.0.1:$PORT" --max-file $((SIZE_MB * 1000 * 1000 + 1)) \
    --idle-timeout 1h >"$WORK/relay.log" 2>&1 &
RELAY=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.1
done

mkfifo "$WORK/ada.in" "$WORK/bob.in"
mkdir "$WORK/down"
exec 3<>"$WORK/ada.in" 4<>"$WORK/bob.in"
"$BIN/vroom" create --server "http://127.0.0.1:$PORT" --nick ada <&3 >"$WORK/ada.out" 2>&1 &
ADA=$!
until LINK=$(grep -m1 '/r#' "$WORK/ada.out" 2>/dev/null); do sleep 0.1; done
"$BIN/vroom" join "$LINK" --nick bob --download-dir "$WORK/down" --accept-files <&4 >"$WORK/bob.out" 2>&1 &
BOB=$!
until grep -q -- '-- bob joined' "$WORK/ada.out"; do sleep 0.1; done

PEAK=0
START=$(date +%s.%N)
echo "/send $WORK/file.bin" >&3
until grep -q -- '-- received file.bin' "$WORK/bob.out"; do
    RSS=$(awk '/VmRSS/ {print $2}' "/proc/$RELAY/status")
    [ "$RSS" -gt "$PEAK" ] && PEAK=$RSS
    if grep -q -- '-- could not' "$WORK/ada.out" "$WORK/bob.out"; then
        cat "$WORK/ada.out" "$WORK/bob.out" >&2
        exit 1
    fi
    sleep 0.2
done
END=$(date +%s.%N)
GOT=$(sha256sum "$WORK/down/file.bin" | cut -d' ' -f1)
[ "$GOT" = "$WANT" ] || { echo "the received file differs" >&2; exit 1; }
SECS=$(echo "$END - $START" | bc -l)

# The loopback ceiling: the same bytes over one plain TCP connection.
LOOP=$(python3 - "$WORK/file.bin" <<'PY'
import socket, sys, threading, time
data = open(sys.argv[1], 'rb').read()
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def sink():
    c, _ = srv.accept()
    while c.recv(1 << 20):
        pass
t = threading.Thread(target=sink); t.start()
s = socket.create_connection(srv.getsockname())
t0 = time.time(); s.sendall(data); s.close(); t.join()
print(f"{len(data) / 1e6 / (time.time() - t0):.0f}")
PY
)
printf 'file: %d MB, %s build, sha256 match\n' "$SIZE_MB" "$PROFILE"
printf 'vroom: %.1f s, %.1f MB/s\n' "$SECS" "$(echo "$SIZE_MB / $SECS" | bc -l)"
printf 'loopback TCP: %s MB/s\n' "$LOOP"
printf 'relay peak RSS while streaming: %.1f MiB\n' "$(echo "$PEAK / 1024" | bc -l)"
echo /end >&3
