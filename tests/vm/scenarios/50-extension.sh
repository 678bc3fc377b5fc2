# Extensions on a host with nothing but busybox: ipft writes the skeleton, compiles it with its
# built-in compiler (there is no clang and no header in the guest) and traces with it through the
# function backends the kernel has; every marked event carries the extension's len field, and the
# packets' lengths are plausible.
. /scenarios/lib.sh

command -v clang >/dev/null 2>&1 && fail "the guest should not have clang"
[ -e /usr/include/linux/types.h ] && fail "the guest should not have kernel headers"
ipft --gen bpf-module-skeleton >"$WORK/ext.bpf.c" || fail "--gen bpf-module-skeleton failed"
ipft -e "$WORK/ext.bpf.c" --emit-object "$WORK/ext.bpf.o" 2>"$WORK/compile.err" || fail "compile failed: $(cat "$WORK/compile.err")"
log "compiled the skeleton in the guest: $(wc -c <"$WORK/ext.bpf.o") bytes"

traced=0
for backend in kprobe-multi kprobe ftrace; do
	backend_supported $backend || continue
	for ext in "$WORK/ext.bpf.c" "$WORK/ext.bpf.o"; do
		name=$backend-$(basename "$ext" | tr . _)
		ipft_start "$name" -b $backend -e "$ext" -m $MARK -o json --enable-probe-server -r '^(ip_rcv|ip_output|__ip_local_out)$'
		ipft_wait_ready || fail "ipft -b $backend -e $ext refused: $(grep '^ipft: ' "$WORK/$name.err")"
		sendmark -m $MARK -u 2 -i 1 127.0.0.1
		ipft_stop
		n=$(events "$WORK/$name.out")
		[ "$n" -gt 0 ] || fail "$backend -e $ext: no events"
		with_len=$(grep -c '"len":[1-9][0-9]*' "$WORK/$name.out")
		[ "$with_len" = "$n" ] || fail "$backend -e $ext: $with_len of $n events carry len"
		log "$backend -e $(basename "$ext"): $n events, e.g. $(grep -o '"function":"[a-z_]*".*"len":[0-9]*' "$WORK/$name.out" | head -n 1)"
		traced=$((traced + 1))
	done
done
[ $traced -gt 0 ] || skip "no function backend on this kernel"
