# Never the wrong packet: bulk TCP both ways between this namespace (10.77.0.1) and a receiver
# namespace (10.77.0.2) at once, only this side's socket marked. The kernel recycles skbs
# (fast clones freed with their original, the NAPI skb cache) where no hook sees a free; for
# each function backend the kernel has, no packet snapshot under a traced packet's id may come
# from 10.77.0.2, whose packets are never marked.
. /scenarios/lib.sh

receiver_netns
checked=0
for backend in kprobe-multi kprobe ftrace; do
	backend_supported $backend || continue
	name=$backend
	ipft_start "$name" -b $backend -m $MARK -o json --snaplen 64 --enable-probe-server \
		-r '^(ip_rcv|ip_output|__ip_local_out|__dev_queue_xmit|tcp_v4_rcv|kfree_skbmem|napi_skb_cache_put|skb_release_data)$'
	ipft_wait_ready || fail "ipft -b $backend refused: $(grep '^ipft: ' "$WORK/$name.err")"
	nsenter -t $ns -n sendmark -l 5001 0.0.0.0 >"$WORK/$name.sinkB" &
	sinkB=$!
	sendmark -l 5002 0.0.0.0 >"$WORK/$name.sinkA" &
	sinkA=$!
	sleep 0.5
	sendmark -m $MARK -t 5001 -b 4000000 10.77.0.2 >/dev/null &
	marked=$!
	nsenter -t $ns -n sendmark -t 5002 -b 4000000 10.77.0.1 >/dev/null || fail "$backend: unmarked bulk send failed"
	wait $marked || fail "$backend: marked bulk send failed"
	wait $sinkA
	wait $sinkB
	sleep 0.5
	ipft_stop
	[ "$IPFT_RC" = 0 ] || fail "$backend: ipft exited $IPFT_RC"
	# The IPv4 source of each snapshot: raw IPv4 (starts with 45) or Ethernet + IPv4.
	grep -o '"packet_id":"[0-9a-fx]*"\|"packet":"[0-9a-f]*"' "$WORK/$name.out" |
		awk -F'"' '/packet_id/ { id = $4; next }
			{ p = $4; src = "" }
			substr(p, 1, 2) == "45" { src = substr(p, 25, 8) }
			substr(p, 25, 6) == "080045" { src = substr(p, 53, 8) }
			src != "" { print id, src }' >"$WORK/$name.src"
	snaps=$(grep -c . "$WORK/$name.src")
	wrong=$(awk '$2 != "0a4d0001"' "$WORK/$name.src" | sort -u)
	[ "$snaps" -gt 20 ] || { show "$WORK/$name.out"; fail "$backend: only $snaps snapshots"; }
	[ -z "$wrong" ] || { echo "$wrong" | head -n 5 | sed "s/^/$SCENARIO: wrong: /"; fail "$backend: packets from 10.77.0.2 under traced ids"; }
	log "$backend: $(events "$WORK/$name.out") events, $snaps snapshots, all from 10.77.0.1 ($(cat "$WORK/$name.sinkB"))"
	checked=$((checked + 1))
done
[ $checked -gt 0 ] || skip "no function backend on this kernel"
kill $ns
