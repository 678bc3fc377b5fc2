# Recording with the function backends: for each one the kernel has, a trace with an extension
# and packet snapshots written with -w, then read back with --read, prints exactly what the live
# run printed, in JSON and in aggregate (extension members included); snapshots show up as
# "packet" bytes that start with an IPv4 header or an Ethernet header carrying IPv4.
. /scenarios/lib.sh

ipft --gen bpf-module-skeleton >"$WORK/ext.bpf.c" || fail "--gen bpf-module-skeleton failed"
REGEX='^(ip_rcv|ip_output|__ip_local_out|ip_finish_output2|__dev_queue_xmit|kfree_skbmem)$'
checked=0
for backend in kprobe-multi kprobe ftrace; do
	backend_supported $backend || continue
	for output in json aggregate; do
		name=$backend-$output
		ipft_start "$name" -b $backend -e "$WORK/ext.bpf.c" -m $MARK -o $output --snaplen 96 \
			-w "$WORK/$name.ipft" --enable-probe-server -r "$REGEX"
		ipft_wait_ready || fail "ipft -b $backend -w refused: $(grep '^ipft: ' "$WORK/$name.err")"
		sendmark -m $MARK -u 3 -i 1 127.0.0.1
		ipft_stop
		[ "$IPFT_RC" = 0 ] || fail "$name: ipft exited $IPFT_RC"
		[ -s "$WORK/$name.ipft" ] || fail "$name: no events file"
		ipft --read "$WORK/$name.ipft" -o $output >"$WORK/$name.read" 2>"$WORK/$name.read.err" ||
			fail "$name: --read failed: $(cat "$WORK/$name.read.err")"
		if ! cmp -s "$WORK/$name.out" "$WORK/$name.read"; then
			show "$WORK/$name.out" "$WORK/$name.read"
			fail "$name: --read printed something else than the live run"
		fi
		lines=$(grep -c 'len' "$WORK/$name.out")
		[ "$lines" -gt 0 ] || { show "$WORK/$name.out"; fail "$name: no event carries the extension's len"; }
		if [ $output = json ]; then
			snaps=$(grep -c '"packet":"' "$WORK/$name.out")
			[ "$snaps" -gt 0 ] || fail "$name: no packet snapshot"
			bad=$(grep -o '"packet":"[0-9a-f]*"' "$WORK/$name.out" | grep -v -E '"packet":"(45|[0-9a-f]{24}080045)' | head -n1)
			[ -z "$bad" ] || fail "$name: a snapshot that is neither IPv4 nor Ethernet+IPv4: $bad"
			log "$name: $(events "$WORK/$name.out") events, $snaps snapshots, $(wc -c <"$WORK/$name.ipft") bytes recorded; read back identical"
		else
			log "$name: $lines event lines; read back identical"
		fi
		checked=$((checked + 1))
	done
done
[ $checked -gt 0 ] || skip "no function backend on this kernel"
