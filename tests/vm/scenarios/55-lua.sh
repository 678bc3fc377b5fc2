# Lua extensions (ipftrace2's api_version 1) with a function backend, on a host with nothing but
# busybox: the script's program is the skeleton built by ipft in the guest; decode() gives every
# event skb_len, which must equal ipft's own len field (JSON strings; aggregate pairs), and
# init()/fini() each run once, fini() having seen every event.
. /scenarios/lib.sh

ipft --gen bpf-module-skeleton >"$WORK/ext.bpf.c" || fail "--gen bpf-module-skeleton failed"
ipft -e "$WORK/ext.bpf.c" --emit-object "$WORK/ext.bpf.o" 2>"$WORK/compile.err" ||
	fail "compile failed: $(cat "$WORK/compile.err")"
cat >"$WORK/len.lua" <<LUA
api_version = 1
program = assert(io.open("$WORK/ext.bpf.o", "rb")):read("a")
local calls = { init = 0, decode = 0 }
function init() calls.init = calls.init + 1 end
function decode(data)
  calls.decode = calls.decode + 1
  return { skb_len = string.unpack("<I4", data) }
end
function fini()
  local out = assert(io.open(os.getenv("COUNTS"), "w"))
  out:write(string.format("init=%d decode=%d\n", calls.init, calls.decode))
  out:close()
end
LUA

backend=
for b in kprobe-multi kprobe ftrace; do
	backend_supported $b && { backend=$b; break; }
done
[ -n "$backend" ] || skip "no function backend on this kernel"
for output in json aggregate; do
	name=lua-$output
	export COUNTS=$WORK/$name.counts
	ipft_start $name -b $backend -s "$WORK/len.lua" --fields len -m $MARK -o $output \
		--enable-probe-server -r '^(ip_rcv|ip_output|__ip_local_out)$'
	ipft_wait_ready || fail "ipft -b $backend -s len.lua refused: $(grep '^ipft: ' "$WORK/$name.err")"
	sendmark -m $MARK -u 3 127.0.0.1 >/dev/null
	ipft_stop
	[ $IPFT_RC = 0 ] || fail "ipft ($name) exited $IPFT_RC"
	if [ $output = json ]; then
		n=$(events "$WORK/$name.out")
		same=$(grep -c '"len":\([0-9]*\),"skb_len":"\1"' "$WORK/$name.out")
	else
		n=$(grep -c ' ( len: ' "$WORK/$name.out")
		same=$(grep -c ' ( len: \([0-9]*\) skb_len: \1 )' "$WORK/$name.out")
	fi
	[ "$n" -gt 0 ] || { show "$WORK/$name.out"; fail "$backend $output: no events"; }
	[ "$same" = "$n" ] || { show "$WORK/$name.out"; fail "$backend $output: $same of $n events have skb_len = len"; }
	[ "$(cat "$COUNTS")" = "init=1 decode=$n" ] ||
		fail "$backend $output: init/decode counts $(cat "$COUNTS"), want init=1 decode=$n"
	log "$backend -o $output: $n events, skb_len = len on each, $(cat "$COUNTS")"
done
