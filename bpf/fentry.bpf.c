// SPDX-License-Identifier: GPL-2.0-only
/*
 * ftrace backend: fentry (and, for -t function_graph, fexit) templates per
 * skb argument slot. A trampoline program is bound to one function at load
 * time, so userspace loads each template against one target of its slot and
 * then clones it per function with that function's BTF id and probe id.
 * At fexit the skb may already be freed: the mark read is a probe read.
 */
#include "ipft_body.bpf.h"

#define IPFT_FENTRY(pos)                                                           \
	SEC("fentry/ipft_fentry" #pos)                                             \
	int ipft_fentry##pos(__u64 *ctx)                                           \
	{                                                                          \
		return ipft_trace_btf(ctx, (struct sk_buff *)ctx[pos], ipft_probe_id(), 0); \
	}                                                                          \
	SEC("fexit/ipft_fexit" #pos)                                               \
	int ipft_fexit##pos(__u64 *ctx)                                            \
	{                                                                          \
		return ipft_trace_btf(ctx, (struct sk_buff *)ctx[pos], ipft_probe_id(), 1); \
	}

IPFT_FENTRY(0)
IPFT_FENTRY(1)
IPFT_FENTRY(2)
IPFT_FENTRY(3)
IPFT_FENTRY(4)
IPFT_FENTRY(5)
IPFT_FENTRY(6)
IPFT_FENTRY(7)
IPFT_FENTRY(8)
IPFT_FENTRY(9)
IPFT_FENTRY(10)
IPFT_FENTRY(11)

/*
 * Clone points (see ipft_clone_enter): the skb is the first argument; the
 * return value is read with bpf_get_func_ret (5.17+), as its slot follows
 * the arguments and their count differs per function.
 */
SEC("fentry/ipft_clone_entry")
int ipft_clone_entry(__u64 *ctx)
{
	ipft_clone_enter((struct sk_buff *)ctx[0]);
	return 0;
}

SEC("fexit/ipft_clone_exit")
int ipft_clone_exit(__u64 *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	ipft_clone_return(ret);
	return 0;
}

IPFT_DROP_PROGRAM

char LICENSE[] SEC("license") = "GPL";
