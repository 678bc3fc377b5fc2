# Attach and detach of every kprobe candidate (or $KPROBE_REGEX's subset): ipft against minload.
. /scenarios/benchlib.sh
bench_backend kprobe kprobe "$KPROBE_REGEX"
