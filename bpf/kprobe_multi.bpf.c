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

/* Clone points (see ipft_clone_enter): the skb is the first argument. */
SEC("kprobe.multi/ipft_clone_entry")
int ipft_clone_entry(struct pt_regs *ctx)
{
	ipft_clone_enter((struct sk_buff *)PT_REGS_PARM1(ctx));
	return 0;
}

SEC("kretprobe.multi/ipft_clone_exit")
int ipft_clone_exit(struct pt_regs *ctx)
{
	ipft_clone_return(PT_REGS_RC(ctx));
	return 0;
}

IPFT_DROP_PROGRAM

char LICENSE[] SEC("license") = "GPL";
