# Drop reasons with the function backends, nothing marked anywhere. Datagrams to a closed port
# in the receiver namespace must end in a kfree_skb event named NO_SOCKET, datagrams to an
# address nobody owns (routed into the receiver, which forwards but has no route) in one named
# IP_INNOROUTES, each with a named location and the 5-tuple; the summary counts what was sent.
# --drops-only with no selection at all prints only dropped packets, the whole path of each.
. /scenarios/lib.sh

receiver_netns
ip route add 192.0.2.0/24 via 10.77.0.2 || fail "cannot route 192.0.2.0/24 into the receiver"
nsenter -t $ns -n sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' ||
	fail "cannot turn forwarding on in the receiver"
HOOKS='^(ip_output|__dev_queue_xmit|ip_rcv|__udp4_lib_rcv|kfree_skbmem)$'
CLOSED=3
NOWHERE=2

# drops FILE REASON DADDR: drop events of FILE with that reason and destination, whose location
# is a named function.
drops() {
	grep '"drop_reason":"'"$2"'"' "$1" | grep '"daddr":"'"$3"'"' | grep '"dport":9,' |
		grep -c '"drop_location":"[A-Za-z_][A-Za-z0-9_.]*+0x[0-9a-f]*"'
}

checked=0
for backend in kprobe-multi kprobe ftrace; do
	backend_supported $backend || { log "$backend: not in this kernel"; continue; }
	name=drops-$backend
	ipft_start $name -b $backend -o json --drops --fields tuple --enable-probe-server -r "$HOOKS" udp
	if ! ipft_wait_ready; then
		judge_refusal $name $backend
		continue
	fi
	sendmark -u $CLOSED -p 9 10.77.0.2 >/dev/null || fail "$backend: UDP send failed"
	sendmark -u $NOWHERE -p 9 192.0.2.1 >/dev/null || fail "$backend: UDP send to 192.0.2.1 failed"
	sleep 1
	ipft_stop
	[ $IPFT_RC = 0 ] || fail "ipft ($name) exited $IPFT_RC after SIGINT"
	out=$WORK/$name.out
	closed=$(drops "$out" NO_SOCKET 10.77.0.2)
	nowhere=$(drops "$out" IP_INNOROUTES 192.0.2.1)
	[ "$closed" = $CLOSED ] && [ "$nowhere" = $NOWHERE ] || {
		grep drop_reason "$out" >"$WORK/$name.drops"
		show "$WORK/$name.drops"
		fail "$backend: $closed NO_SOCKET drops to 10.77.0.2:9 (want $CLOSED) and $nowhere IP_INNOROUTES drops to 192.0.2.1:9 (want $NOWHERE)"
	}
	summary=$(tail -n 1 "$out")
	echo "$summary" | grep -q '"reason":"NO_SOCKET","location":"[^"]*","count":'$CLOSED'}' &&
		echo "$summary" | grep -q '"reason":"IP_INNOROUTES","location":"[^"]*","count":'$NOWHERE'}' ||
		fail "$backend: the summary does not count what was sent: $summary"
	log "$backend: $(events "$out") events; $closed NO_SOCKET and $nowhere IP_INNOROUTES drops, named, counted"
	checked=$((checked + 1))
	last=$backend
done
[ $checked -gt 0 ] || skip "no function backend on this kernel"

# --drops-only, no selection: every packet is followed, only dropped ones print.
name=drops-only
ipft_start $name -b $last -o json --drops-only --fields tuple --enable-probe-server -r "$HOOKS"
ipft_wait_ready || fail "ipft --drops-only -b $last did not start: $(cat "$WORK/$name.err")"
sendmark -u $CLOSED -p 9 10.77.0.2 >/dev/null
ping -c 2 -W 1 10.77.0.2 >/dev/null || fail "ping over veth failed"
sleep 1
ipft_stop
[ $IPFT_RC = 0 ] || fail "ipft ($name) exited $IPFT_RC after SIGINT"
out=$WORK/$name.out
# Every packet printed has a drop event; ours are the datagrams to port 9, each from ip_output on.
undropped=$(awk '
	match($0, /"packet_id":"[^"]*"/) {
		id = substr($0, RSTART, RLENGTH); seen[id] = 1
		if ($0 ~ /"drop_reason"/) dropped[id] = 1
	}
	END { for (i in seen) if (!(i in dropped)) print i }' "$out")
[ -z "$undropped" ] || { show "$out"; fail "--drops-only printed packets that were not dropped: $undropped"; }
closed=$(drops "$out" NO_SOCKET 10.77.0.2)
[ "$closed" = $CLOSED ] || { show "$out"; fail "--drops-only: $closed NO_SOCKET drops, want $CLOSED"; }
grep -q '"icmp_type":8' "$out" && fail "--drops-only printed a ping that was answered"
paths=$(grep '"function":"ip_output"' "$out" | grep -c '"daddr":"10.77.0.2"')
[ "$paths" = $CLOSED ] || { show "$out"; fail "--drops-only: $paths of $CLOSED dropped datagrams shown from ip_output on"; }
log "--drops-only ($last): $(events "$out") events, only dropped packets, each from ip_output on"
kill $ns
