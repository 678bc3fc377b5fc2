-- A Lua extension (ipftrace2's api_version 1): its BPF program is an object
-- built by `ipft -e skeleton.bpf.c --emit-object skeleton.o` (from
-- `ipft --gen bpf-module-skeleton`), whose module() stores skb->len in the
-- first 4 bytes of the data area. decode() turns them into `skb_len`; init()
-- and fini() count, and fini() writes the counts where IPFT_LUA_COUNTS says.
api_version = 1

local object = assert(os.getenv("IPFT_LUA_OBJECT"), "set IPFT_LUA_OBJECT to the object's path")
local f = assert(io.open(object, "rb"))
program = f:read("a")
f:close()

local calls = { init = 0, decode = 0 }

function init()
  calls.init = calls.init + 1
end

function decode(data)
  calls.decode = calls.decode + 1
  return { skb_len = string.unpack("<I4", data) }
end

function fini()
  local path = os.getenv("IPFT_LUA_COUNTS")
  if path then
    local out = assert(io.open(path, "w"))
    out:write(string.format("init=%d decode=%d\n", calls.init, calls.decode))
    out:close()
  end
end
