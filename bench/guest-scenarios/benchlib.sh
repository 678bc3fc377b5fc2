# Helpers for the guest benchmark scenarios (busybox sh), self-contained: bench/guest swaps
# tests/vm/scenarios for this directory, so tests/vm/scenarios/lib.sh is not in the guest.
# /init sets SCENARIO, WORK (a fresh directory) and RESULT (the reason fail/skip leave).
# bench/guest writes bench.conf beside these scripts:
#   ROUNDS=N                   minload/ipft pairs per backend
#   KMULTI_REGEX, KPROBE_REGEX, FTRACE_REGEX
#                              -r for that backend ("" = every candidate)
#   SET_REGEX                  a second, smaller set measured the same way
#                              (tool=minload-set, tool=ipft-set; "" = none)
#
# Every result is one console line, parsed by bench/guest:
#   === BENCH backend=B tool=ipft-list round=R functions=N seconds=S
#   === BENCH backend=B tool=minload round=R functions=N attached=A failed=F links=L attach_s=S detach_s=S [by=addrs|syms]
#   === BENCH backend=B tool=ipft round=R functions=N hooks=H attached=A failed=F ready_s=S attach_s=S exit_s=S gone_s=S
#   === BENCH backend=B tool=ipft-one round=R functions=1 hooks=H ... (as ipft)
#   === BENCH backend=kprobe-multi tool=ipft-fresh ... (as ipft, with --no-cache)
#   === BENCH backend=kprobe-multi tool=ipft-list-fresh ... (as ipft-list, with --no-cache)
#   === BENCH backend=B tool=minload-set|ipft-set round=R functions=N ... (as minload, ipft)
# functions = candidates `ipft -l` listed (the list minload gets); hooks = what ipft attached or
# tried (its "Attaching program" line: the candidates plus any free point it adds itself).

. /scenarios/bench.conf

MARK=0x5eed0bec # never set on a packet: the benchmark measures attach/detach, not events

log() { echo "$SCENARIO: $*"; }

fail() {
	echo "$*" >"$RESULT"
	log "FAIL: $*"
	for f in "$WORK"/*.err; do
		[ -s "$f" ] || continue
		grep -v 'libbpf: ' "$f" | head -n 30 | sed "s|^|$SCENARIO: ${f#$WORK/}: |"
	done
	exit 1
}

skip() {
	echo "$*" >"$RESULT"
	exit 77
}

# wait_line FILE TEXT PID: until FILE has TEXT (or PID died: fail).
wait_line() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || fail "$(head -n 5 "$1" | tr '\n' ' ')"
		[ $i -lt 3000 ] || fail "no '$2' in $1 after 300 s"
		sleep 0.1
		i=$((i + 1))
	done
}

# bpf_totals PID: "RUNS NS", the run count and run time of PID's BPF programs so far (the
# kernel's statistics: kernel.bpf_stats_enabled).
bpf_totals() {
	runs=0 ns=0
	for f in /proc/$1/fdinfo/*; do
		c=$(awk '/^run_cnt:/ { print $2 }' "$f" 2>/dev/null)
		[ -n "$c" ] || continue
		runs=$((runs + c)) ns=$((ns + $(awk '/^run_time_ns:/ { print $2 }' "$f")))
	done
	echo "$runs $ns"
}

# kv KEY LINE: the value of KEY=value in LINE ("" if absent).
kv() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n1; }

# bench_backend BACKEND MINLOAD_MODE REGEX: ROUNDS rounds of discovery, minload and ipft
# (alternating which of the two goes first, so a drift in the guest does not favour one).
bench_backend() {
	backend=$1 mode=$2 regex=$3

	r=1
	while [ $r -le "$ROUNDS" ]; do
		# Discovery: `ipft -l` lists the candidates; its rows are the list minload gets.
		line=$(timed "$WORK/list.out" ipft -l 2>"$WORK/list.err") ||
			fail "ipft -l -b $backend failed: $line"
		n=$(grep -c . "$WORK/list.out")
		[ "$n" -gt 0 ] || fail "ipft -l -b $backend -r '$regex' listed nothing"
		echo "=== BENCH backend=$backend tool=ipft-list round=$r functions=$n seconds=$(kv elapsed_s "$line")"
		# The same without the discovery cache (what the first run after a boot or a module
		# load costs): every later run above reads the cache the first one wrote.
		if [ "$backend" = kprobe-multi ]; then
			line=$(timed "$WORK/list-fresh.out" ipft -l --no-cache 2>"$WORK/list-fresh.err") ||
				fail "ipft -l --no-cache -b $backend failed: $line"
			echo "=== BENCH backend=$backend tool=ipft-list-fresh round=$r functions=$n seconds=$(kv elapsed_s "$line")"
		fi
		# "NAME MOD ADDR POS" -> "NAME MOD ADDR": minload needs the module for fentry's BTF
		# object and attaches kprobe-multi by address, as ipft does.
		awk '{ print $1, $2, $3 }' "$WORK/list.out" >"$WORK/funcs.txt"
		if [ $r = 1 ]; then
			log "$n candidates; by module: $(awk '{ print $2 }' "$WORK/funcs.txt" | sort | uniq -c | tr -s ' \n' ' ')"
			# Both make one kprobe-multi link for all functions; ipft reads the skb position from the cookie.
			log "by skb position: $(awk '{ print $4 }' "$WORK/list.out" | sort | uniq -c | tr -s ' \n' ' ')"
			dups=$(awk '{ print $1 }' "$WORK/funcs.txt" | sort | uniq -d | head -n 5 | tr '\n' ' ')
			[ -z "$dups" ] || log "names listed twice: $dups"
		fi

		if [ $((r % 2)) = 1 ]; then
			run_minload && run_ipft ipft
		else
			run_ipft ipft && run_minload
		fi
		# ipft's fixed cost (discovery, load, ring buffer, teardown): the same with one hook,
		# kfree_skbmem (a candidate of every function backend, and ipft's free point).
		all=$regex
		regex='^kfree_skbmem$'
		run_ipft ipft-one
		regex=$all
		[ "$backend" != kprobe-multi ] || run_ipft ipft-fresh --no-cache
		[ -z "$SET_REGEX" ] || bench_set
		r=$((r + 1))
	done
}

# bench_set: minload and ipft on the candidates $SET_REGEX selects (the prompt back and the
# teardown for a set users name, not every candidate).
bench_set() {
	all=$regex all_n=$n
	regex=$SET_REGEX
	line=$(timed "$WORK/set.out" ipft -l 2>"$WORK/set.err") ||
		fail "ipft -l -b $backend -r '$regex' failed: $line"
	n=$(grep -c . "$WORK/set.out")
	[ "$n" -gt 0 ] || fail "ipft -l -b $backend -r '$regex' listed nothing"
	awk '{ print $1, $2, $3 }' "$WORK/set.out" >"$WORK/set-funcs.txt"
	[ $r != 1 ] || log "set '$regex': $n candidates"
	if [ $((r % 2)) = 1 ]; then
		run_minload minload-set "$WORK/set-funcs.txt" && run_ipft ipft-set
	else
		run_ipft ipft-set && run_minload minload-set "$WORK/set-funcs.txt"
	fi
	regex=$all n=$all_n
}

# timed OUTFILE|ERRFILE ipft ARGS...: `minload time` (or `minload session` when the first argument
# ends in .err) of ipft ARGS -b $backend [-r $regex]. The regex stays one quoted word: unquoted it
# would be split and globbed ('?' and '*' are glob characters too).
timed() {
	file=$1
	shift
	how=time
	case $file in *.err) how=session ;; esac
	if [ -n "$regex" ]; then
		minload $how "$file" "$@" -b "$backend" -r "$regex"
	else
		minload $how "$file" "$@" -b "$backend"
	fi
}

# run_minload [TOOL [FUNCS]]: minload on FUNCS (default: every candidate), printed as tool=TOOL.
run_minload() {
	mtool=${1:-minload} funcs=${2:-$WORK/funcs.txt}
	line=$(minload "$mode" "$funcs" 2>"$WORK/$mtool-$r.err") ||
		fail "minload $mode attached nothing: $(head -n 3 "$WORK/$mtool-$r.err" | tr '\n' ' ')"
	[ $r != 1 ] || [ "$mtool" != minload ] || sed "s/^/$SCENARIO: minload: /" "$WORK/$mtool-$r.err" | head -n 12
	by=$(kv by "$line")
	echo "=== BENCH backend=$backend tool=$mtool round=$r functions=$n" \
		"attached=$(kv attached "$line") failed=$(kv failed "$line") links=$(kv links "$line")" \
		"attach_s=$(kv attach_s "$line") detach_s=$(kv detach_s "$line")" \
		${by:+by=$by}
}

# run_ipft TOOL [ARGS]: one ipft session (-b $backend, -r $regex, ARGS), printed as tool=TOOL.
run_ipft() {
	tool=$1
	shift
	err=$WORK/$tool-$r.err
	# -v for ipft's own "took X seconds to attach" (the attach phase, without discovery and
	# the object load) and for the reason of every failed hook.
	line=$(timed "$err" ipft -v -m $MARK -o json "$@") ||
		fail "ipft -b $backend exited ($line) before 'Trace ready!'"
	[ "$(kv rc "$line")" = 0 ] || fail "ipft -b $backend exited $(kv rc "$line") after SIGINT"
	# "Attaching program (total T, succeeded S, failed F, filtered: X)"
	counts=$(grep -o 'Attaching program (total [0-9]*, succeeded [0-9]*, failed [0-9]*' "$err" |
		tr -c '0-9\n' ' ')
	set -- $counts
	ok=${2:-0} bad=${3:-0}
	attach=$(sed -n 's/.*took \([0-9.]*\) seconds to attach.*/\1/p' "$err" | head -n1)
	if [ $r = 1 ] && [ "$tool" = ipft ]; then
		grep -v 'libbpf: ' "$err" | grep -E 'discovered|failed to attach|hooks failed|following clones' |
			head -n 12 | sed "s/^/$SCENARIO: ipft: /"
	fi
	nf=$n
	[ "$tool" != ipft-one ] || nf=1
	if [ $r = 1 ]; then
		grep -E 'discovery (read from|kept in)' "$err" | head -n 1 | sed "s/^/$SCENARIO: $tool: /"
	fi
	echo "=== BENCH backend=$backend tool=$tool round=$r functions=$nf hooks=$((ok + bad))" \
		"attached=$ok failed=$bad ready_s=$(kv ready_s "$line") attach_s=${attach:--}" \
		"exit_s=$(kv exit_s "$line") gone_s=$(kv gone_s "$line")"
}
