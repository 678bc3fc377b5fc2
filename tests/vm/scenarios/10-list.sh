# ipft -l per backend: each lists a plausible number of targets; the function backends include
# functions of the modules veth and nf_conntrack (loaded by /init), named in the MOD column, and
# only functions in available_filter_functions (one missing name fails a whole kprobe-multi link).
. /scenarios/lib.sh

aff=/sys/kernel/tracing/available_filter_functions
[ -r $aff ] || fail "$aff unreadable"
log "$aff: $(grep -c . $aff) entries"

for backend in kprobe-multi kprobe ftrace tracepoint; do
	out=$WORK/$backend.out
	t0=$(date +%s)
	ipft -l -b $backend >"$out" 2>"$WORK/$backend.err"
	rc=$?
	took=$(($(date +%s) - t0))
	[ $rc = 0 ] || fail "ipft -l -b $backend exited $rc"
	n=$(grep -c . "$out")
	mods=$(awk '$2 != "vmlinux"' "$out" | grep -c .)
	log "$backend: $n targets in ${took}s, $mods outside vmlinux; by MOD: $(awk '{ print $2 }' "$out" | sort | uniq -c | sort -rn | head -n 6 | awk '{ printf "%s=%s ", $2, $1 }')"
	case $backend in
	tracepoint)
		[ "$n" -ge 10 ] || fail "-l -b tracepoint: only $n tracepoints"
		awk '$1 == "kfree_skb"' "$out" | grep -q . || fail "-l -b tracepoint: no kfree_skb"
		;;
	*)
		[ "$n" -gt 1000 ] || fail "-l -b $backend: only $n functions, want > 1000"
		for mod in veth nf_conntrack; do
			grep -q "^$mod " /proc/modules || fail "module $mod is not loaded"
			f=$(awk -v m=$mod '$2 == m { print $1; exit }' "$out")
			[ -n "$f" ] || fail "-l -b $backend: no function of module $mod in the MOD column"
			log "$backend: e.g. $f ($mod)"
		done
		;;
	esac
done

# Without -b, -l lists what the backend ipft would pick traces (kprobe-multi here) without
# attaching a probe: kprobe-multi and kprobe read arguments alike.
ipft -l -v >"$WORK/auto.out" 2>"$WORK/auto.err" || fail "ipft -l exited $?"
cmp -s "$WORK/auto.out" "$WORK/kprobe-multi.out" || fail "ipft -l differs from ipft -l -b kprobe-multi"
# The features line names each backend probed (Ok or why not).
grep -q "kprobe_multi: " "$WORK/auto.err" && fail "ipft -l probed kprobe-multi"
ipft -l -v -b kprobe-multi >/dev/null 2>"$WORK/explicit.err" || fail "ipft -l -b kprobe-multi exited $?"
grep -q "kprobe_multi: " "$WORK/explicit.err" || fail "ipft -l -b kprobe-multi did not probe the backend"
log "-l without -b: the kprobe-multi list, no probe attached; with -b: $(grep -o 'kprobe_multi: [A-Za-z]*' "$WORK/explicit.err")"
# Categories come from available_events.
cat=$(awk '$1 == "kfree_skb" { print $2 }' "$WORK/tracepoint.out")
[ "$cat" = skb ] || fail "-l -b tracepoint: kfree_skb in category '$cat', want skb"

# One pass over the 40k-line file (busybox awk under TCG is slow).
missing=$(awk 'NR == FNR { ok[$1] = 1; next } !($1 in ok) { print FILENAME ": " $1 }' \
	$aff "$WORK/kprobe-multi.out" "$WORK/kprobe.out" "$WORK/ftrace.out" | head -n 10)
[ -z "$missing" ] || fail "functions listed but missing from $aff: $(echo $missing)"
