# Where the every-match row's CPU goes (bench/guest --diag only): kprobe-multi on every
# candidate (or $KMULTI_REGEX's subset), every packet matching, an unpaced loopback UDP flood for
# $PPS_SECS, JSON to a file, with the kernel's BPF statistics on. ipft and, with --alt, a second
# build ($ALT) take turns, the first going first in odd rounds. One line per run:
#   === BENCH backend=kprobe-multi tool=diag round=R bin=ipft|alt pps=P events=E lost=L
#       main_user_ns=U main_sys_ns=S writer_ns=W bpf_ns=B hits_per_packet=H cpu_us_per_packet=C
# main_*/writer: CPU time of ipft's reading thread and of its writer thread per event received;
# bpf_ns: BPF program time per run (with the statistics' own clock reads); cpu_us_per_packet:
# busy time of every vCPU (/proc/stat) per datagram received: the whole budget.
. /scenarios/benchlib.sh

[ "${DIAG:-0}" = 1 ] || skip "only with bench/guest --diag"
backend=kprobe-multi
regex=$KMULTI_REGEX
grep -q '^CONFIG_FPROBE=y' /etc/kernel-config 2>/dev/null || skip "no kprobe-multi in this kernel"
ip link set lo up
# Every event reads the clock once in BPF: slow where the clocksource is not the TSC.
echo "--- $SCENARIO: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"

# ticks TASKDIR: user and system clock ticks (1/100 s) of one thread.
ticks() { awk '{ print $14, $15 }' "$1/stat"; }
# busy: clock ticks every CPU spent not idle (user nice system irq softirq steal).
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# diag_run TOOL NAME: one run of TOOL (an ipft binary in the guest's PATH), printed as bin=NAME.
diag_run() {
	tool=$1 name=$2
	rm -f "$WORK/diag.out" "$WORK/diag.err"
	if [ -n "$regex" ]; then
		"$tool" -b $backend -r "$regex" -m 0x1 -o json >"$WORK/diag.out" 2>"$WORK/diag.err" &
	else
		"$tool" -b $backend -m 0x1 -o json >"$WORK/diag.out" 2>"$WORK/diag.err" &
	fi
	pid=$!
	wait_line "$WORK/diag.err" 'Trace ready!' $pid
	writer=
	for t in /proc/$pid/task/*; do
		[ "$(cat "$t/comm")" = ipft-writer ] && writer=$t
	done
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	set -- $(ticks /proc/$pid/task/$pid)
	mu0=$1 ms0=$2
	w0=0
	[ -z "$writer" ] || w0=$(ticks "$writer" | awk '{ print $1 + $2 }')
	b0=$(busy)
	flood recv 9000 "$PPS_SECS" >"$WORK/rx" &
	rx=$!
	sleep 0.2
	flood send 127.0.0.1 9000 64 "$PPS_SECS" 0x1 >/dev/null
	wait $rx
	b1=$(busy)
	set -- $(ticks /proc/$pid/task/$pid)
	mu=$(($1 - mu0)) ms=$(($2 - ms0))
	w=0
	[ -z "$writer" ] || w=$(($(ticks "$writer" | awk '{ print $1 + $2 }') - w0))
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	set -- $(bpf_totals $pid)
	runs=$1 ns=$2
	kill -INT $pid
	wait $pid || fail "$tool exited $? after SIGINT"
	rate=$(cut -d' ' -f1 <"$WORK/rx")
	events=$(grep -c '"packet_id"' "$WORK/diag.out" || true)
	lost=$(sed -n 's/^Lost \([0-9]*\) events.*/\1/p' "$WORK/diag.err" | head -n1)
	echo "=== BENCH backend=$backend tool=diag round=$r bin=$name pps=$rate events=$events lost=${lost:-0} $(
		awk -v e="$events" -v mu="$mu" -v ms="$ms" -v w="$w" -v runs="$runs" -v ns="$ns" \
			-v p="$rate" -v s="$PPS_SECS" -v b="$((b1 - b0))" 'BEGIN {
			tick = 1e7 # ns per clock tick
			if (e > 0) printf "main_user_ns=%d main_sys_ns=%d writer_ns=%d ", mu * tick / e, ms * tick / e, w * tick / e
			else printf "main_user_ns=- main_sys_ns=- writer_ns=- "
			printf "bpf_ns=%s ", (runs > 0 ? int(ns / runs) : "-")
			if (p > 0) printf "hits_per_packet=%.1f cpu_us_per_packet=%.1f", runs / (p * s), b * tick / 1000 / (p * s)
			else printf "hits_per_packet=- cpu_us_per_packet=-"
		}')"
}

r=1
while [ $r -le "$ROUNDS" ]; do
	if [ -z "${ALT:-}" ]; then
		diag_run ipft ipft
	elif [ $((r % 2)) = 1 ]; then
		diag_run ipft ipft && diag_run "$ALT" alt
	else
		diag_run "$ALT" alt && diag_run ipft ipft
	fi
	r=$((r + 1))
done
