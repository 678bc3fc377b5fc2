# Helpers sourced by the guest scenarios (busybox sh). /init sets SCENARIO (name), WORK (a fresh
# directory for this scenario's files) and RESULT (where fail/skip write the reason).

MARK=0xdeadbeef
OTHER_MARK=0xdeadbee0 # differs in the low bits: must not match
PROBE_PORT=13720
READY_TIMEOUT=${READY_TIMEOUT:-180} # seconds for ipft to attach under TCG
STOP_TIMEOUT=${STOP_TIMEOUT:-180}   # seconds for ipft to detach and exit after SIGINT

log() { echo "$SCENARIO: $*"; }

# kernel_has CONFIG_X...: all set to y in the guest kernel's config.
kernel_has() {
	for c in "$@"; do
		grep -q "^$c=y" /etc/kernel-config || return 1
	done
}

# backend_supported BACKEND: the guest kernel can attach with it (from its config).
backend_supported() {
	case $1 in
	kprobe-multi) kernel_has CONFIG_KPROBES CONFIG_FPROBE ;;
	kprobe) kernel_has CONFIG_KPROBES ;;
	ftrace) kernel_has CONFIG_BPF_JIT CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS ;;
	tracepoint) true ;;
	esac
}

# show FILE...: copy files into the console (prefixed, first 60 lines each).
show() {
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "$SCENARIO: --- ${f#$WORK/}"
		head -n 60 "$f" | sed "s/^/$SCENARIO: | /"
	done
}

# fail REASON: record the reason, print every ipft stderr of this scenario, exit FAIL.
fail() {
	echo "$*" >"$RESULT"
	log "FAIL: $*"
	show "$WORK"/*.err
	exit 1
}

skip() {
	echo "$*" >"$RESULT"
	exit 77
}

# alive PID: the process exists and is not a zombie (ash reaps background jobs only in wait).
alive() {
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# ipft_start NAME ARGS...: run ipft ARGS in the background; output in $WORK/NAME.out/.err.
ipft_start() {
	IPFT_NAME=$1
	shift
	log "ipft $*"
	ipft "$@" >"$WORK/$IPFT_NAME.out" 2>"$WORK/$IPFT_NAME.err" &
	IPFT_PID=$!
	IPFT_RC=
}

# ipft_wait_ready: 0 once the probe server accepts; 1 if ipft exited first (IPFT_RC set).
ipft_wait_ready() {
	t0=$(date +%s)
	n=0
	while [ $n -lt $((READY_TIMEOUT * 2)) ]; do
		if ! alive $IPFT_PID; then
			wait $IPFT_PID
			IPFT_RC=$?
			return 1
		fi
		if sendmark -w $PROBE_PORT 127.0.0.1 >/dev/null 2>&1; then
			log "ipft ($IPFT_NAME) ready after $(($(date +%s) - t0))s"
			return 0
		fi
		sleep 0.5
		n=$((n + 1))
	done
	fail "ipft ($IPFT_NAME) not ready after ${READY_TIMEOUT}s"
}

# ipft_stop: SIGINT, wait for the exit, set IPFT_RC; a hang or a crash is a FAIL.
ipft_stop() {
	t0=$(date +%s)
	kill -INT $IPFT_PID 2>/dev/null
	n=0
	while alive $IPFT_PID && [ $n -lt $((STOP_TIMEOUT * 2)) ]; do
		sleep 0.5
		n=$((n + 1))
	done
	if alive $IPFT_PID; then
		kill -9 $IPFT_PID
		fail "ipft ($IPFT_NAME) still running ${STOP_TIMEOUT}s after SIGINT"
	fi
	wait $IPFT_PID
	IPFT_RC=$?
	log "ipft ($IPFT_NAME) exited $IPFT_RC, $(($(date +%s) - t0))s after SIGINT"
	[ $IPFT_RC -le 128 ] || fail "ipft ($IPFT_NAME) died of signal $((IPFT_RC - 128)) after SIGINT"
	# The next step starts with every hook gone, as before background detaching.
	wait_detached || fail "ipft ($IPFT_NAME): the detach helper still runs ${STOP_TIMEOUT}s after the exit"
}

# detach_helpers: the pids of ipft's background detach helpers (ipft --detach-helper ...).
detach_helpers() {
	for d in /proc/[0-9]*; do
		tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q -- '--detach-helper' && echo "${d#/proc/}"
	done
}

# wait_detached [SECONDS]: 0 once no detach helper runs (default STOP_TIMEOUT); sets DETACH_S.
wait_detached() {
	t0=$(date +%s)
	n=0
	while [ -n "$(detach_helpers)" ]; do
		[ $n -lt $((${1:-$STOP_TIMEOUT} * 10)) ] || return 1
		sleep 0.1
		n=$((n + 1))
	done
	DETACH_S=$(($(date +%s) - t0))
}

# check_refusal NAME: ipft exited 1 with exactly one "ipft:" line on stderr, nothing on stdout.
check_refusal() {
	err=$WORK/$1.err
	[ "$IPFT_RC" -le 128 ] || fail "ipft ($1) died of signal $((IPFT_RC - 128))"
	[ "$IPFT_RC" = 1 ] || fail "ipft ($1) exited $IPFT_RC, want 1 (or readiness)"
	grep -q 'panicked' "$err" && fail "ipft ($1) panicked"
	[ "$(grep -c '^ipft: ' "$err")" = 1 ] || fail "ipft ($1) did not print exactly one 'ipft:' line"
	[ -s "$WORK/$1.out" ] && fail "ipft ($1) refused but wrote to stdout"
	return 0
}

# judge_refusal NAME BACKEND: after ipft NAME exited before ready. A clean refusal is fine when
# the kernel lacks BACKEND or this ipft says it does not implement it yet; otherwise a FAIL.
judge_refusal() {
	check_refusal "$1"
	line=$(grep '^ipft: ' "$WORK/$1.err")
	if backend_supported "$2" && ! echo "$line" | grep -q 'not implemented'; then
		fail "$2 refused although the kernel supports it: $line"
	fi
	log "$2: refused: $line"
}

# events FILE: the number of JSON event lines in FILE.
events() { grep -c '"packet_id"' "$1"; }

# functions FILE: "count function" per traced function, most frequent first.
functions() {
	sed -n 's/.*"function":"\([^"]*\)".*/\1/p' "$1" | sort | uniq -c | sort -rn
}

# trace_phases BACKEND EXPECT [IPFT ARGS...]: two runs of `ipft -m $MARK -o json` (BACKEND
# "auto" adds no -b): one with only unmarked and wrongly marked traffic (no events allowed), one
# with marked UDP, TCP and ICMP over loopback (events required, at least one function matching
# the regex EXPECT). Returns 0 when both passed, 1 when ipft refused to start (IPFT_RC set; the
# caller judges the refusal); anything wrong is a FAIL.
trace_phases() {
	backend=$1 expect=$2
	shift 2
	b=
	[ "$backend" = auto ] || b="-b $backend"

	ipft_start "$backend-unmarked" $b -m $MARK -o json --enable-probe-server "$@"
	ipft_wait_ready || return 1
	sendmark -u 3 -t 1 -i 1 127.0.0.1
	sendmark -m $OTHER_MARK -u 3 -t 1 -i 1 127.0.0.1
	sleep 1
	ipft_stop
	[ $IPFT_RC = 0 ] || fail "ipft ($IPFT_NAME) exited $IPFT_RC after SIGINT, want 0"
	n=$(events "$WORK/$IPFT_NAME.out")
	if [ "$n" != 0 ]; then
		show "$WORK/$IPFT_NAME.out"
		fail "$backend: $n events for unmarked/other-mark traffic, want 0"
	fi

	ipft_start "$backend-marked" $b -m $MARK -o json --enable-probe-server "$@"
	ipft_wait_ready || fail "ipft ($IPFT_NAME) exited $IPFT_RC before ready, though the unmarked run started"
	sendmark -m $MARK -u 3 -t 1 -i 1 127.0.0.1
	sleep 1
	ipft_stop
	[ $IPFT_RC = 0 ] || fail "ipft ($IPFT_NAME) exited $IPFT_RC after SIGINT, want 0"
	out=$WORK/$IPFT_NAME.out
	n=$(events "$out")
	show "$WORK/$IPFT_NAME.err"
	log "$backend: $n marked events; per function:"
	functions "$out" | head -n 20 | sed "s/^/$SCENARIO:   /"
	# 3 UDP datagrams, a SYN and an echo request: at least one event each, and not a flood.
	if [ "$n" -lt 5 ] || [ "$n" -gt 20000 ]; then
		show "$out"
		fail "$backend: $n events for 5 marked packets"
	fi
	grep -Eq "\"function\":\"($expect)\"" "$out" || fail "$backend: no event from $expect"
	head -n1 "$out" | grep -q '^{"format_version":1,' || fail "$backend: JSON does not start with its format line"
	bad=$(sed 1d "$out" | grep -v '"packet_id"' | grep -v '"lost_events"' | head -n1)
	[ -z "$bad" ] || fail "$backend: a stdout line that is not an event: $bad"
	return 0
}

# receiver_netns: a network namespace held by a sleeping process ($ns), joined by veth: vA
# (10.77.0.1) here, $peer (10.77.0.2) there. Commands run there with `nsenter -t $ns -n`.
receiver_netns() {
	# An earlier scenario's pair (its namespace still held by a sleeper) goes first.
	ip link del vA 2>/dev/null
	unshare -n sleep 3600 &
	ns=$!
	sleep 0.5
	ip link add vA type veth || fail "cannot create a veth pair"
	# busybox names the peer itself: find it by the ifindex vA points to.
	peer_index=$(cat /sys/class/net/vA/iflink)
	peer=
	for dev in /sys/class/net/*; do
		[ "$(cat "$dev/ifindex")" = "$peer_index" ] && peer=$(basename "$dev")
	done
	[ -n "$peer" ] || fail "cannot find the peer of vA"
	ip link set dev "$peer" netns $ns || fail "cannot move $peer into the receiver namespace"
	ip addr add 10.77.0.1/24 dev vA
	ip link set vA up
	nsenter -t $ns -n ip link set lo up
	nsenter -t $ns -n ip addr add 10.77.0.2/24 dev "$peer"
	nsenter -t $ns -n ip link set "$peer" up
	n=0
	until ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 10 ] || fail "the receiver namespace does not answer ping over veth"
	done
	log "receiver namespace (pid $ns) at 10.77.0.2 via vA <-> $peer"
}
