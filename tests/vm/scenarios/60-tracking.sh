# Packet tracking with the function backends. A receiver network namespace joined by veth, with
# no re-marking rule: crossing into it clears skb->mark, so only tracking can follow the packets
# there. For each function backend the kernel has (kprobe-multi with every candidate, kprobe and
# ftrace on a few functions), marked datagrams sent beside unmarked ones must give one id each,
# seen both on the send side (ip_output) and in the receiver (ip_rcv), with nothing from the
# unmarked ones; and the clones the kernel makes for a packet socket (sendmark -c) must be
# followed as children: their events carry "parent" = the id of the datagram they copy. With
# the first backend, the aggregate view names the parent in the clone's separator line.
. /scenarios/lib.sh

MARKED=20
TAPPED=3

receiver_netns

# pairs FILE: "id function parent" per event (parent "-" when there is none).
pairs() {
	awk '{
		p = "-"
		if (match($0, /"parent":"[^"]*"/)) p = substr($0, RSTART + 10, RLENGTH - 11)
		id = ""
		if (match($0, /"packet_id":"[^"]*"/)) id = substr($0, RSTART + 13, RLENGTH - 14)
		f = ""
		if (match($0, /"function":"[^"]*"/)) f = substr($0, RSTART + 12, RLENGTH - 13)
		if (id != "") print id, f, p
	}' "$1"
}

first=
checked=0
for backend in kprobe-multi kprobe ftrace; do
	backend_supported $backend || { log "$backend: not in this kernel"; continue; }
	narrow=
	[ $backend = kprobe-multi ] || narrow='^(ip_output|ip_rcv|packet_rcv|consume_skb|kfree_skb)$'
	name=track-$backend
	ipft_start $name -b $backend -m $MARK -o json -v --enable-probe-server ${narrow:+-r "$narrow"}
	if ! ipft_wait_ready; then
		judge_refusal $name $backend
		continue
	fi
	sendmark -m $MARK -u $MARKED -p 7001 10.77.0.2 &
	sendmark -u $MARKED -p 7002 10.77.0.2
	wait $!
	sendmark -c -m $MARK -u $TAPPED -p 7003 10.77.0.2 || fail "sendmark -c failed"
	sleep 1
	ipft_stop
	[ $IPFT_RC = 0 ] || fail "ipft ($name) exited $IPFT_RC after SIGINT"
	out=$WORK/$name.out
	pairs "$out" >"$WORK/$name.pairs"
	grep -q 'following clones made by' "$WORK/$name.err" || fail "$backend: no clone points attached (see -v)"
	grep 'following clones' "$WORK/$name.err" | cut -c1-200 | sed "s/^/$SCENARIO: /"

	want=$((MARKED + TAPPED))
	sent=$(awk '$2 == "ip_output" { print $1 }' "$WORK/$name.pairs" | sort -u | grep -c .)
	crossed=$(awk '$2 == "ip_output" { o[$1] = 1 } $2 == "ip_rcv" { r[$1] = 1 }
		END { n = 0; for (i in o) if (i in r) n++; print n }' "$WORK/$name.pairs")
	clones=$(awk '$2 == "ip_output" { o[$1] = 1 } $3 != "-" && ($3 in o) { c[$1] = 1 }
		END { n = 0; for (i in c) n++; print n }' "$WORK/$name.pairs")
	orphans=$(awk '$2 == "ip_output" { o[$1] = 1 } $3 != "-" { p[$3] = 1 }
		END { n = 0; for (i in p) if (!(i in o)) n++; print n }' "$WORK/$name.pairs")
	log "$backend: $(grep -c . "$WORK/$name.pairs") events; $sent ids at ip_output, $crossed of them at ip_rcv in the receiver, $clones clones"
	awk '$3 != "-" { print $2 }' "$WORK/$name.pairs" | sort | uniq -c | sort -rn | head -n 5 | sed "s/^/$SCENARIO:   clone events: /"
	if [ "$sent" != $want ]; then
		show "$out"
		fail "$backend: $sent packet ids at ip_output for $want marked datagrams (and $MARKED unmarked ones)"
	fi
	[ "$crossed" = $want ] || fail "$backend: only $crossed of $want packets keep their id into the receiver namespace (ip_rcv)"
	[ "$clones" -ge $TAPPED ] || fail "$backend: $clones clones with a parent among the datagrams, want >= $TAPPED"
	[ "$orphans" = 0 ] || fail "$backend: $orphans parent ids that are no traced datagram"
	checked=$((checked + 1))
	[ -n "$first" ] || first=$backend
done
[ $checked -gt 0 ] || skip "no function backend in this kernel"

# Aggregate: the clone's block names its parent by the parent's first timestamp.
narrow=
[ $first = kprobe-multi ] || narrow='^(ip_output|ip_rcv|packet_rcv|consume_skb|kfree_skb)$'
ipft_start agg -b $first -m $MARK --enable-probe-server ${narrow:+-r "$narrow"}
ipft_wait_ready || fail "ipft -o aggregate refused: $(grep '^ipft: ' "$WORK/agg.err")"
sendmark -c -m $MARK -u 1 -p 7004 10.77.0.2 || fail "sendmark -c failed"
sleep 1
ipft_stop
out=$WORK/agg.out
marker=$(grep -m1 '^=== clone of [0-9]' "$out") || { show "$out"; fail "aggregate: no '=== clone of <timestamp>' block"; }
ts=${marker#=== clone of }
grep -q "^$ts " "$out" || { show "$out"; fail "aggregate: '$marker' names no printed event"; }
log "aggregate: '$marker' names a printed packet"
kill $ns
