# No -b: ipft picks the backend itself: kprobe-multi where the kernel has it (6.12), else kprobe
# (6.1). It must reach "Trace ready!" (or exit 1 with one "ipft:" line), never hang, never die
# of a signal; what it printed goes to the console. -r keeps the one-by-one kprobe case short
# (all ~1600 functions take ~100 s to attach and ~95 s to detach on 6.1 under TCG). With
# kprobe-multi the object is prepared ahead, during discovery (src/load/ahead.rs).
. /scenarios/lib.sh

if kernel_has CONFIG_FPROBE; then want=kprobe-multi; else want=kprobe; fi
ipft_start auto -v -m 1 -r '^(__)?ip_' --enable-probe-server
if ipft_wait_ready; then
	ipft_stop
	grep -q '^Trace ready!' "$WORK/auto.err" || fail "probe server up but no 'Trace ready!'"
	[ $IPFT_RC = 0 ] || fail "ipft exited $IPFT_RC after SIGINT, want 0"
	got=$(sed -n 's/^backend: //p' "$WORK/auto.err")
	log "picked backend: ${got:-?}; reached Trace ready!"
	grep -vE '^(verbose|debug|libbpf):' "$WORK/auto.err" | grep -v '^[a-z_-]*: ' | sed "s/^/$SCENARIO: | /"
	if [ "$got" != "$want" ] && ! grep -q 'not implemented' "$WORK/auto.err"; then
		fail "picked $got, want $want on this kernel"
	fi
	# The kprobe-multi object is linked and prepared while discovery runs, and taken.
	if [ $want = kprobe-multi ]; then
		grep -q 'BPF object prepared ahead taken' "$WORK/auto.err" ||
			fail "kprobe-multi chosen but the object prepared ahead was not taken"
	else
		grep -q 'nothing was prepared ahead: the kernel has no fprobe' "$WORK/auto.err" ||
			fail "no fprobe here, yet something else was said of loading ahead"
	fi
else
	check_refusal auto
	show "$WORK/auto.err"
	log "refused"
fi
