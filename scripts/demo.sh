#!/usr/bin/env bash
# Traces one marked ping with the real binary: ipft attaches, we ping
# 127.0.0.1 with mark 0xdeadbeef (3735928559), ipft prints each packet's path.
set -euo pipefail
bin=${1:-target/x86_64-unknown-linux-gnu/release/ipft}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: ipft needs root (sudo make demo)" >&2
	exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"; kill "$pid" 2>/dev/null || true' EXIT
"$bin" -m 0xdeadbeef --enable-probe-server --probe-server-port 13721 >"$out" &
pid=$!
for _ in $(seq 1 300); do
	if (exec 3<>/dev/tcp/127.0.0.1/13721) 2>/dev/null; then break; fi
	kill -0 "$pid" 2>/dev/null || { echo "demo.sh: ipft exited early" >&2; exit 1; }
	sleep 0.1
done
ping -c 3 -i 0.2 -m 3735928559 127.0.0.1 >/dev/null
kill -INT "$pid"
wait "$pid"
cat "$out"
grep -q '===' "$out" || { echo "demo.sh: no packet was traced" >&2; exit 1; }
