# Function backends (kprobe-multi, kprobe, ftrace): where the kernel supports a backend (kernel
# config), marked/unmarked trace checks as in 20-tracepoint, expecting IP-layer functions; where
# it does not (kprobe-multi on 6.1), a clean refusal (exit 1, one "ipft:" line). A refusal saying
# the backend is not implemented yet is accepted too. kprobe and ftrace get a narrow -r: under
# TCG each attached function costs ~0.1 s at detach.
. /scenarios/lib.sh

expect='ip_rcv|ip_output|__ip_local_out|ip_finish_output|ip_local_deliver'
for backend in kprobe-multi kprobe ftrace; do
	narrow=
	[ $backend = kprobe-multi ] || narrow="-r ^(__)?ip_"
	if trace_phases $backend "$expect" $narrow; then
		backend_supported $backend || fail "$backend traced on a kernel without it?"
		log "$backend: traced"
	else
		judge_refusal "$backend-unmarked" $backend
	fi
done
