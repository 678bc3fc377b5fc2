# Shared by bench/run and bench/profile (sourced; needs $bin and $secs): two network namespaces
# joined by veth, a UDP flood between them (bench/flood.c), and ipft in the background.

# Builds the flood tool and the namespaces ($nsa sends from 10.250.0.1, $nsb receives at
# 10.250.0.2); they are removed on exit.
netns_up() {
	flood=$(mktemp -d)/flood
	gcc -O2 -o "$flood" bench/flood.c
	nsa=ipftbenchA$$ nsb=ipftbenchB$$
	trap netns_down EXIT
	ip netns add $nsa
	ip netns add $nsb
	ip link add vA netns $nsa type veth peer name vB netns $nsb
	ip -n $nsa addr add 10.250.0.1/24 dev vA
	ip -n $nsb addr add 10.250.0.2/24 dev vB
	for ns in $nsa $nsb; do ip -n $ns link set lo up; done
	ip -n $nsa link set vA up
	ip -n $nsb link set vB up
	ip netns exec $nsa ping -c 1 -W 2 10.250.0.2 >/dev/null
}
netns_down() {
	ip netns del $nsa 2>/dev/null || true
	ip netns del $nsb 2>/dev/null || true
}

# pps received in B while A floods for $secs seconds with a mark
pps() { # mark [pps-limit]
	ip netns exec $nsb "$flood" recv 9000 "$secs" >"$flood.rx" &
	local rx=$!
	sleep 0.2
	ip netns exec $nsa "$flood" send 10.250.0.2 9000 64 "$secs" "$1" ${2:-} >"$flood.tx"
	wait $rx
	cat "$flood.rx"
}

# runs ipft in the background until killed; sets $ipft_pid
ipft_bg() { # out-file args...
	local out=$1; shift
	"$bin" "$@" >"$out" 2>"$out.err" &
	ipft_pid=$!
	until grep -qs 'Trace ready!' "$out.err"; do
		kill -0 $ipft_pid 2>/dev/null || { cat "$out.err" >&2; exit 1; }
		sleep 0.01
	done
}
ipft_stop() { kill -INT $ipft_pid; wait $ipft_pid || true; }
