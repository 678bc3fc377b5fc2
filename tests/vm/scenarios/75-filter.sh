# pcap-filter expressions with the function backends, nothing marked anywhere. Between this
# namespace and a receiver namespace (veth, IPv4 and IPv6), 'udp and dst port 9' among UDP to
# another port, TCP to port 9 and ICMP must select exactly the datagrams to port 9 (every
# snapshot under a traced id is one), each followed into the receiver (ip_rcv/ipv6_rcv there),
# and a locally generated datagram must match before its MAC header exists: its first event is
# at ip_output/ip6_output (raw IP), before __dev_queue_xmit.
. /scenarios/lib.sh

receiver_netns
# No duplicate address detection (busybox ip has no nodad): the addresses work at once.
echo 0 >/proc/sys/net/ipv6/conf/vA/accept_dad
nsenter -t $ns -n sh -c "echo 0 >/proc/sys/net/ipv6/conf/$peer/accept_dad"
ip addr add fd77::1/64 dev vA || fail "cannot add an IPv6 address to vA"
nsenter -t $ns -n ip addr add fd77::2/64 dev "$peer" || fail "cannot add an IPv6 address in the receiver"
HOOKS='^(__ip_local_out|ip_output|ip6_output|__dev_queue_xmit|ip_rcv|ipv6_rcv|kfree_skbmem)$'
SENT=4

# rows FILE: "id function dport-check" per event: ok (UDP to port 9), bad, or - (no snapshot).
rows() {
	awk '{
		id = ""; f = ""; p = ""
		if (match($0, /"packet_id":"[^"]*"/)) id = substr($0, RSTART + 13, RLENGTH - 14)
		if (match($0, /"function":"[^"]*"/)) f = substr($0, RSTART + 12, RLENGTH - 13)
		if (match($0, /"packet":"[^"]*"/)) p = substr($0, RSTART + 10, RLENGTH - 11)
		if (id == "") next
		v = "-"
		if (p != "") {
			# Ethernet when the EtherType and the IP version agree (a MAC address
			# may start with a 4 or a 6 nibble), else raw IP.
			ip = ""
			if ((substr(p, 25, 4) == "0800" && substr(p, 29, 1) == "4") ||
			    (substr(p, 25, 4) == "86dd" && substr(p, 29, 1) == "6")) ip = substr(p, 29)
			else if (substr(p, 1, 1) == "4" || substr(p, 1, 1) == "6") ip = p
			v = "bad"
			if (substr(ip, 1, 2) == "45" && substr(ip, 19, 2) == "11" && substr(ip, 45, 4) == "0009") v = "ok"
			if (substr(ip, 1, 1) == "6" && substr(ip, 13, 2) == "11" && substr(ip, 85, 4) == "0009") v = "ok"
		}
		print id, f, v
	}' "$1"
}

checked=0
for backend in kprobe-multi kprobe ftrace; do
	backend_supported $backend || { log "$backend: not in this kernel"; continue; }
	name=filter-$backend
	ipft_start $name -b $backend -o json --snaplen 64 --enable-probe-server -r "$HOOKS" \
		'udp and dst port 9'
	if ! ipft_wait_ready; then
		judge_refusal $name $backend
		continue
	fi
	sendmark -u $SENT -p 9 10.77.0.2 >/dev/null || fail "$backend: UDP send failed"
	sendmark -u $SENT -p 9 fd77::2 >/dev/null || fail "$backend: UDP/IPv6 send failed"
	sendmark -u $SENT -p 7002 10.77.0.2 >/dev/null
	sendmark -u $SENT -p 7002 fd77::2 >/dev/null
	sendmark -t 9 10.77.0.2 >/dev/null
	sendmark -i 2 10.77.0.2 >/dev/null
	sleep 1
	ipft_stop
	[ $IPFT_RC = 0 ] || fail "ipft ($name) exited $IPFT_RC after SIGINT"
	rows "$WORK/$name.out" >"$WORK/$name.rows"
	bad=$(awk '$3 == "bad"' "$WORK/$name.rows" | head -n 3)
	[ -z "$bad" ] || { show "$WORK/$name.out"; fail "$backend: packets other than UDP to port 9 traced: $bad"; }
	# Per id: its first function, whether it reached the receiver, its IP version.
	awk '!($1 in first) { first[$1] = $2 }
		$2 == "ip_rcv" { r4[$1] = 1 } $2 == "ipv6_rcv" { r6[$1] = 1 }
		END { for (i in first) print i, first[i], (i in r4) ? 4 : (i in r6) ? 6 : 0 }' \
		"$WORK/$name.rows" >"$WORK/$name.ids"
	v4=$(awk '$3 == 4' "$WORK/$name.ids" | grep -c .)
	v6=$(awk '$3 == 6' "$WORK/$name.ids" | grep -c .)
	[ "$v4" = $SENT ] && [ "$v6" = $SENT ] ||
		{ show "$WORK/$name.ids"; fail "$backend: $v4 IPv4 and $v6 IPv6 datagrams followed into the receiver, want $SENT each"; }
	early=$(awk '$3 != 0 && ($2 == "ip_output" || $2 == "ip6_output" || $2 == "__ip_local_out")' "$WORK/$name.ids" | grep -c .)
	[ "$early" = $((2 * SENT)) ] ||
		{ show "$WORK/$name.ids"; fail "$backend: only $early of $((2 * SENT)) datagrams matched before __dev_queue_xmit (no MAC header yet)"; }
	log "$backend: $(events "$WORK/$name.out") events; $v4 IPv4 and $v6 IPv6 datagrams to port 9, all first seen before their MAC header, nothing else"
	checked=$((checked + 1))
done
[ $checked -gt 0 ] || skip "no function backend on this kernel"
kill $ns
