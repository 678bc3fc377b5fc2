// SPDX-License-Identifier: GPL-2.0-only
/*
 * kprobe-multi backend (5.18+): one program and one link per skb argument
 * position covering every function with the skb there. The link carries one
 * cookie per function, its probe id, so events need no address lookup.
 */
#include "ipft_body.bpf.h"
#include "ipft_regs.bpf.h"

#define IPFT_KPROBE_MULTI(pos, reg)                                                \
	SEC("kprobe.multi/ipft_kmulti" #pos)                                       \
	int ipft_kmulti##pos(struct pt_regs *ctx)                                  \
	{                                                                          \
		return ipft_trace(ctx, (struct sk_buff *)reg(ctx),                 \
				  bpf_get_attach_cookie(ctx), 0);                  \
	}

IPFT_KPROBE_MULTI(0, PT_REGS_PARM1)
IPFT_KPROBE_MULTI(1, PT_REGS_PARM2)
IPFT_KPROBE_MULTI(2, PT_REGS_PARM3)
IPFT_KPROBE_MULTI(3, PT_REGS_PARM4)
IPFT_KPROBE_MULTI(4, PT_REGS_PARM5)

char LICENSE[] SEC("license") = "GPL";
