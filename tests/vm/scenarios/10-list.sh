# ipft -l per backend: each lists a plausible number of targets; the function backends include
# module functions (veth, nf_conntrack are loaded by /init) with the module in the MOD column.
. /scenarios/lib.sh

for backend in kprobe-multi kprobe ftrace tracepoint; do
	out=$WORK/$backend.out
	ipft -l -b $backend >"$out" 2>"$WORK/$backend.err"
	rc=$?
	[ $rc = 0 ] || fail "ipft -l -b $backend exited $rc"
	n=$(grep -c . "$out")
	mods=$(awk '$2 != "vmlinux"' "$out" | grep -c .)
	log "$backend: $n targets, $mods outside vmlinux; by MOD: $(awk '{ print $2 }' "$out" | sort | uniq -c | sort -rn | head -n 6 | awk '{ printf "%s=%s ", $2, $1 }')"
	case $backend in
	tracepoint)
		[ "$n" -ge 10 ] || fail "-l -b tracepoint: only $n tracepoints"
		awk '$1 == "kfree_skb"' "$out" | grep -q . || fail "-l -b tracepoint: no kfree_skb"
		;;
	*)
		[ "$n" -gt 1000 ] || fail "-l -b $backend: only $n functions, want > 1000"
		awk '$2 == "veth" || $2 == "nf_conntrack"' "$out" | grep -q . ||
			fail "-l -b $backend: no function from veth or nf_conntrack"
		log "$backend: e.g. $(awk '$2 == "veth" { print $1 "(" $2 ")"; exit }' "$out")" \
			"$(awk '$2 == "nf_conntrack" { print $1 "(" $2 ")"; exit }' "$out")"
		;;
	esac
done
