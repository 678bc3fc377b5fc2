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

char LICENSE[] SEC("license") = "GPL";
