# Function backends (kprobe-multi, kprobe, ftrace): while a backend is not implemented, ipft must
# refuse it cleanly (exit 1, one "ipft:" line); once it attaches, the same marked/unmarked trace
# checks as the tracepoint scenario apply, expecting IP-layer functions. kprobe and ftrace get a
# narrow -r: under TCG each attached function costs ~0.1 s at detach.
. /scenarios/lib.sh

expect='ip_rcv|ip_output|__ip_local_out|ip_finish_output|ip_local_deliver'
for backend in kprobe-multi kprobe ftrace; do
	narrow=
	[ $backend = kprobe-multi ] || narrow="-r ^(__)?ip_"
	if trace_phases $backend "$expect" $narrow; then
		log "$backend: traced"
	else
		check_refusal "$backend-unmarked"
		log "$backend: refused: $(grep '^ipft: ' "$WORK/$backend-unmarked.err")"
	fi
done
