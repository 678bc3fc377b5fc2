# function_graph (fentry + fexit) on a known path: every packet's entry and exit lines balance,
# ip_rcv and ip_output appear as calls; a module function (veth) shows its module; and nothing
# stays attached once ipft and its background detach helper are gone, after SIGINT, SIGTERM and
# SIGKILL, on every function backend the kernel has, and right at exit with --wait-detach (the
# kernel's list of ftrace-enabled functions is as before).
. /scenarios/lib.sh

backend_supported ftrace || skip "no fentry/fexit on this kernel"
enabled=/sys/kernel/tracing/enabled_functions
[ -r $enabled ] || skip "$enabled unreadable"
base=$(grep -c . $enabled)

ipft_start graph -t function_graph -m $MARK --enable-probe-server -r '^(ip_rcv|ip_output|ip_local_deliver|ip_finish_output|__ip_local_out)$'
ipft_wait_ready || fail "ipft -t function_graph refused: $(grep '^ipft: ' "$WORK/graph.err")"
[ "$(grep -c . $enabled)" -gt "$base" ] || fail "nothing shows in $enabled while attached"
sendmark -m $MARK -u 2 -i 2 127.0.0.1
sleep 1
ipft_stop
[ $IPFT_RC = 0 ] || fail "ipft -t function_graph exited $IPFT_RC"
out=$WORK/graph.out
grep -q 'ip_rcv() {' "$out" || fail "no ip_rcv() { line"
grep -q 'ip_output() {' "$out" || fail "no ip_output() { line"
# Per packet block: as many closing lines as opening ones. The graph text starts at column 51.
awk '/^===/ { if (opened != closed) bad++; opened = 0; closed = 0; next }
	{ t = substr($0, 51) }
	index(t, "() {") { opened++ }
	t ~ /^ *}/ { closed++ }
	END { if (opened != closed) bad++; exit bad ? 1 : 0 }' "$out" || { show "$out"; fail "unbalanced entry/exit in a packet"; }
log "function_graph: $(grep -c '() {' "$out") calls in $(grep -c '^===' "$out") packets, balanced"
wait_detached || fail "the detach helper still runs ${STOP_TIMEOUT}s after ipft exited"
[ "$(grep -c . $enabled)" = "$base" ] || fail "$enabled still lists ipft's functions after exit"

# A module function with its module name (veth is loaded by /init).
ipft_start mod -b ftrace -m $MARK --enable-probe-server -o json --module-regex '^veth$'
ipft_wait_ready || fail "ipft --module-regex veth refused: $(grep '^ipft: ' "$WORK/mod.err")"
ipft_stop
grep -q 'filtered' "$WORK/mod.err" || fail "no attach line"
ipft -l -b ftrace --module-regex '^veth$' 2>/dev/null | awk -F'\t' '{ gsub(/ /, "", $2); print $2 }' | sort -u >"$WORK/mods"
[ "$(cat "$WORK/mods")" = veth ] || fail "-l --module-regex veth lists modules: $(cat "$WORK/mods")"

# Every function backend, every way to end: the prompt comes back, then the helper removes every
# hook (SIGKILL: the kernel closes the links with the process).
for b in kprobe-multi kprobe ftrace; do
	backend_supported $b || { log "$b: not in this kernel"; continue; }
	for sig in INT TERM KILL; do
		ipft_start "end-$b-$sig" -b $b -m $MARK --enable-probe-server -r '^(ip_rcv|ip_output)$'
		ipft_wait_ready || fail "ipft -b $b refused: $(grep '^ipft: ' "$WORK/end-$b-$sig.err")"
		[ "$(grep -c . $enabled)" -gt "$base" ] || fail "$b: nothing shows in $enabled while attached"
		kill -$sig $IPFT_PID
		wait $IPFT_PID
		rc=$?
		[ $sig = KILL ] || [ $rc = 0 ] || fail "$b: ipft exited $rc after SIG$sig"
		wait_detached || fail "$b: the detach helper still runs ${STOP_TIMEOUT}s after SIG$sig"
		n=0
		while [ "$(grep -c . $enabled)" != "$base" ] && [ $n -lt 60 ]; do
			sleep 0.5
			n=$((n + 1))
		done
		[ "$(grep -c . $enabled)" = "$base" ] || fail "$b: $enabled still lists functions after SIG$sig and the helper"
		log "$b: nothing left attached after SIG$sig (helper done ${DETACH_S}s after the exit)"
	done
done

# --wait-detach: everything is gone when ipft exits, and no helper is started.
b=ftrace
backend_supported $b || b=kprobe
ipft_start waited -b $b --wait-detach -m $MARK --enable-probe-server -r '^(ip_rcv|ip_output)$'
ipft_wait_ready || fail "ipft --wait-detach refused: $(grep '^ipft: ' "$WORK/waited.err")"
ipft_stop
[ $IPFT_RC = 0 ] || fail "ipft --wait-detach exited $IPFT_RC"
[ -z "$(detach_helpers)" ] || fail "--wait-detach started a detach helper"
[ "$(grep -c . $enabled)" = "$base" ] || fail "$enabled still lists functions right after ipft --wait-detach exited"
log "--wait-detach: nothing attached at exit"
