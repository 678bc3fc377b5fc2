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
		return ipft_trace(ctx, (struct sk_buff *)ctx[pos], ipft_probe_id(), 0); \
	}                                                                          \
	SEC("fexit/ipft_fexit" #pos)                                               \
	int ipft_fexit##pos(__u64 *ctx)                                            \
	{                                                                          \
		return ipft_trace(ctx, (struct sk_buff *)ctx[pos], ipft_probe_id(), 1); \
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

char LICENSE[] SEC("license") = "GPL";
