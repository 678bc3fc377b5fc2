# Tracepoint backend end to end: unmarked traffic gives no event, marked UDP/TCP/ICMP over
# loopback gives JSON events from the skb tracepoints.
. /scenarios/lib.sh

trace_phases tracepoint 'kfree_skb|consume_skb|net_dev_queue|net_dev_start_xmit' ||
	fail "ipft -b tracepoint exited $IPFT_RC before ready"
