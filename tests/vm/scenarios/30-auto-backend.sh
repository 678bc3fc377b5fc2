# No -b: ipft picks a backend (kprobe-multi on 6.12, kprobe on 6.1 once implemented; for now it
# falls back to tracepoints). It must reach "Trace ready!" or exit 1 with one "ipft:" line;
# never hang, never die of a signal. What it printed goes to the console either way.
. /scenarios/lib.sh

ipft_start auto -m 1 --enable-probe-server
if ipft_wait_ready; then
	ipft_stop
	grep -q '^Trace ready!' "$WORK/auto.err" || fail "probe server up but no 'Trace ready!'"
	[ $IPFT_RC = 0 ] || fail "ipft exited $IPFT_RC after SIGINT, want 0"
	log "reached Trace ready!"
else
	check_refusal auto
	log "refused"
fi
show "$WORK/auto.err"
