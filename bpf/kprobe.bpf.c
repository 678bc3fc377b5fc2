// SPDX-License-Identifier: GPL-2.0-only
/*
 * kprobe backend: one program per skb argument position (the first five
 * registers), attached to every function with the skb at that position.
 * Each attachment carries the target's probe id as its BPF cookie (5.15+).
 */
#include "ipft_body.bpf.h"
#include "ipft_regs.bpf.h"

#define IPFT_KPROBE(pos, reg)                                                      \
	SEC("kprobe/ipft_kprobe" #pos)                                             \
	int ipft_kprobe##pos(struct pt_regs *ctx)                                  \
	{                                                                          \
		return ipft_trace(ctx, (struct sk_buff *)reg(ctx),                 \
				  bpf_get_attach_cookie(ctx), 0);                  \
	}

IPFT_KPROBE(0, PT_REGS_PARM1)
IPFT_KPROBE(1, PT_REGS_PARM2)
IPFT_KPROBE(2, PT_REGS_PARM3)
IPFT_KPROBE(3, PT_REGS_PARM4)
IPFT_KPROBE(4, PT_REGS_PARM5)

/* Clone points (see ipft_clone_enter): the skb is the first argument. */
SEC("kprobe/ipft_clone_entry")
int ipft_clone_entry(struct pt_regs *ctx)
{
	ipft_clone_enter((struct sk_buff *)PT_REGS_PARM1(ctx));
	return 0;
}

SEC("kretprobe/ipft_clone_exit")
int ipft_clone_exit(struct pt_regs *ctx)
{
	ipft_clone_return(PT_REGS_RC(ctx));
	return 0;
}

IPFT_DROP_PROGRAM

char LICENSE[] SEC("license") = "GPL";
