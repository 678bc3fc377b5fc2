# Attach and detach of every ftrace candidate (or $FTRACE_REGEX's subset): ipft against minload.
. /scenarios/benchlib.sh
bench_backend ftrace fentry "$FTRACE_REGEX"
