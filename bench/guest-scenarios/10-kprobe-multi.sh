# Attach and detach of every kprobe-multi candidate (or $KMULTI_REGEX's subset): ipft against minload.
. /scenarios/benchlib.sh
bench_backend kprobe-multi kprobe-multi "$KMULTI_REGEX"
