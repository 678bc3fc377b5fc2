# Steady state with kprobe-multi on every candidate (or $KMULTI_REGEX's subset): ipft's CPU while
# attached and idle, its RSS, and UDP packets per second over loopback (64-byte datagrams,
# bench/flood.c) with no tracer, with minload's empty programs on the same functions, with ipft
# and a mark that never matches, and with ipft and every packet matching (JSON to a file), as
# fast as the sender can and paced at $PACED_PPS.
# Each round measures in that order, except that even rounds measure ipft with the never-matching
# mark after the empty programs. Results:
#   === BENCH backend=kprobe-multi tool=steady round=R idle_s=S idle_ticks=T rss_kb=K
#   === BENCH backend=kprobe-multi tool=pps round=R none=N empty=E never=V every=A every_lost=L
#       paced_rate=P paced=Q paced_events=F paced_lost=M
#   === BENCH backend=kprobe-multi tool=per-hit round=R ipft_ns=I empty_ns=E hits_per_packet=H
# (per-hit: BPF program time per hook hit by the kernel's statistics, mark never matching.)
. /scenarios/benchlib.sh

backend=kprobe-multi
regex=$KMULTI_REGEX
grep -q '^CONFIG_FPROBE=y' /etc/kernel-config 2>/dev/null || skip "no kprobe-multi in this kernel"
line=$(timed "$WORK/list.out" ipft -l 2>"$WORK/list.err") || fail "ipft -l -b $backend failed: $line"
awk '{ print $1, $2, $3 }' "$WORK/list.out" >"$WORK/funcs.txt"
n=$(grep -c . "$WORK/funcs.txt")
hz=100 # USER_HZ: /proc/PID/stat counts CPU time in 1/100 s

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# pps MARK [RATE]: datagrams per second received over loopback while flooding for $PPS_SECS
# (as fast as the sender can, or paced at RATE).
pps() {
	flood recv 9000 "$PPS_SECS" >"$WORK/rx" &
	rx=$!
	sleep 0.2
	flood send 127.0.0.1 9000 64 "$PPS_SECS" "$1" ${2:-} >/dev/null
	wait $rx
	cut -d' ' -f1 <"$WORK/rx"
}

# ipft_up ARGS...: ipft -b kprobe-multi ARGS in the background until "Trace ready!" ($ipft).
ipft_up() {
	# A fresh file: the last round's "Trace ready!" must not count.
	rm -f "$WORK/ipft.out" "$WORK/ipft.err"
	if [ -n "$regex" ]; then
		ipft -b $backend -r "$regex" "$@" >"$WORK/ipft.out" 2>"$WORK/ipft.err" &
	else
		ipft -b $backend "$@" >"$WORK/ipft.out" 2>"$WORK/ipft.err" &
	fi
	ipft=$!
	wait_line "$WORK/ipft.err" 'Trace ready!' $ipft
}
# per_hit PID: "NS HITS_PER_PACKET": the mean run time of PID's BPF programs, and their runs
# per datagram received, during one more flood, with the kernel's BPF statistics on (kernel.bpf_stats_enabled; off for every pps
# figure, whose runs it would slow). NS includes the statistics' own clock reads, the same for
# every program: compare ipft with the empty program, not with zero.
per_hit() {
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	rate=$(pps 0)
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	set -- $(bpf_totals "$1")
	runs=$1 ns=$2
	[ "$runs" -gt 0 ] || { echo "- -"; return; }
	echo "$((ns / runs))" "$(awk -v h="$runs" -v p="$rate" -v s="$PPS_SECS" \
		'BEGIN { if (p > 0) printf "%.1f", h / (p * s); else print "-" }')"
}

ipft_down() {
	kill -INT $ipft
	wait $ipft || fail "ipft exited $? after SIGINT"
}

ip link set lo up
r=1
while [ $r -le "$ROUNDS" ]; do
	# Idle: attached, no packet marked for it.
	ipft_up -m $MARK -o json
	t0=$(ticks $ipft)
	sleep "$IDLE_SECS"
	t1=$(ticks $ipft)
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$ipft/status")
	echo "=== BENCH backend=$backend tool=steady round=$r functions=$n idle_s=$IDLE_SECS idle_ticks=$((t1 - t0)) rss_kb=$rss hz=$hz"
	# Odd rounds measure ipft before the empty programs, even rounds after: a drift in the
	# guest's speed (TCG) then favours neither.
	if [ $((r % 2)) = 1 ]; then
		never=$(pps 0)
		ipft_hit=$(per_hit $ipft)
	fi
	ipft_down

	none=$(pps 0)
	MINLOAD_HOLD=1 minload kprobe-multi "$WORK/funcs.txt" >/dev/null 2>"$WORK/minload.err" &
	ml=$!
	wait_line "$WORK/minload.err" 'holding' $ml
	empty=$(pps 0)
	empty_hit=$(per_hit $ml)
	kill -INT $ml
	wait $ml
	if [ $((r % 2)) = 0 ]; then
		ipft_up -m $MARK -o json
		never=$(pps 0)
		ipft_hit=$(per_hit $ipft)
		ipft_down
	fi
	set -- $ipft_hit
	ipft_ns=$1 hits=$2
	set -- $empty_hit
	echo "=== BENCH backend=$backend tool=per-hit round=$r functions=$n ipft_ns=$ipft_ns empty_ns=$1" \
		"hits_per_packet=$hits"

	ipft_up -m 0x1 -o json
	every=$(pps 0x1)
	ipft_down
	lost=$(sed -n 's/^Lost \([0-9]*\) events.*/\1/p' "$WORK/ipft.err" | head -n1)
	events=$(grep -c '"packet_id"' "$WORK/ipft.out" || true)
	# The same at a fixed rate, twice ipftrace2's every-match rate: what ipft keeps up with.
	ipft_up -m 0x1 -o json
	paced=$(pps 0x1 "$PACED_PPS")
	ipft_down
	paced_lost=$(sed -n 's/^Lost \([0-9]*\) events.*/\1/p' "$WORK/ipft.err" | head -n1)
	paced_events=$(grep -c '"packet_id"' "$WORK/ipft.out" || true)
	echo "=== BENCH backend=$backend tool=pps round=$r functions=$n none=$none empty=$empty never=$never every=$every every_events=$events every_lost=${lost:-0}" \
		"paced_rate=$PACED_PPS paced=$paced paced_events=$paced_events paced_lost=${paced_lost:-0}"
	r=$((r + 1))
done
