// SPDX-License-Identifier: GPL-2.0-only
/*
 * kprobe-multi backend (5.18+): one link for the functions taking the skb
 * first without flags, one for every other traced function (and for the
 * first link's hits that may be events, by a tail call). The links carry
 * one cookie per function: its probe word in the low 32 bits, the skb's
 * argument position above, so events need no address lookup and the second
 * link serves every position.
 */
#include "ipft_body.bpf.h"
#include "ipft_regs.bpf.h"

/*
 * A pt_regs argument by its constant offset. One asm per case: compiled
 * from C, the cases' loads merge into one at a computed offset, which the
 * verifier refuses for the context.
 */
#define IPFT_REG_LOAD(dst, ctx, field)                                            \
	asm volatile("%0 = *(u64 *)(%1 + %2)"                                     \
		     : "=r"(dst)                                                  \
		     : "r"(ctx), "i"(__builtin_offsetof(struct pt_regs, field)))

/*
 * The cookies again, by function address, filled by userspace before load:
 * the kernel finds a cookie by a binary search over every address of the
 * link, with an indirect call per step, on every hit of every function. A
 * function has two slots to choose from (its own and the neighbour): one
 * whose both slots others took first (or an address the table does not
 * know) still gets its cookie from the kernel.
 */
#define IPFT_KMULTI_SLOTS 8192
struct ipft_kmulti_slot {
	__u64 ip;
	__u64 cookie;
};
struct ipft_kmulti_slot ipft_kmulti_cookies[IPFT_KMULTI_SLOTS] SEC(".data.kmulti");

/* Mirrored by `cookie_slot` in src/attach/kprobe_multi.rs. */
static __always_inline __u32 ipft_kmulti_slot_of(__u64 ip)
{
	return ((ip >> 4) ^ (ip >> 17)) & (IPFT_KMULTI_SLOTS - 1);
}

/* The hit function's cookie: from the table, else from the kernel. */
static __always_inline __u64 ipft_kmulti_cookie(struct pt_regs *ctx)
{
	__u64 ip = bpf_get_func_ip(ctx);
	__u32 at = ipft_kmulti_slot_of(ip);
	struct ipft_kmulti_slot *slot = &ipft_kmulti_cookies[at];

	if (slot->ip != ip)
		slot = &ipft_kmulti_cookies[at ^ 1];
	return slot->ip == ip ? slot->cookie : bpf_get_attach_cookie(ctx);
}

/*
 * ipft_kmulti in slot 0, put there by userspace before any link is made
 * (src/attach/kprobe_multi.rs): ipft_kmulti_first hands it the hits that
 * may be events, so the trace body is verified once, not in both programs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} ipft_kmulti_rest SEC(".maps");

/*
 * Functions taking the skb first whose probe has no flags (most of them),
 * on a link of their own: the skb is known without the cookie, so nearly
 * every hit (an skb nobody follows, not selected) ends here, before the
 * lookup; the others go on in ipft_kmulti, whose cookie says position 0.
 */
SEC("kprobe.multi/ipft_kmulti_first")
int ipft_kmulti_first(struct pt_regs *ctx)
{
	struct sk_buff *skb;

	IPFT_REG_LOAD(skb, ctx, di);
	if (!ipft_may_trace(skb, 0))
		return 0;
	bpf_tail_call(ctx, &ipft_kmulti_rest, 0);
	/* Only if the slot were empty: an event lost, and counted. */
	ipft_count(IPFT_COUNT_EVENTS);
	ipft_count(IPFT_COUNT_LOST);
	return 0;
}

SEC("kprobe.multi/ipft_kmulti")
int ipft_kmulti(struct pt_regs *ctx)
{
	__u64 cookie = ipft_kmulti_cookie(ctx);
	struct sk_buff *skb;

	switch (cookie >> 32) {
	case 0:
		IPFT_REG_LOAD(skb, ctx, di);
		break;
	case 1:
		IPFT_REG_LOAD(skb, ctx, si);
		break;
	case 2:
		IPFT_REG_LOAD(skb, ctx, dx);
		break;
	case 3:
		IPFT_REG_LOAD(skb, ctx, cx);
		break;
	default:
		IPFT_REG_LOAD(skb, ctx, r8);
		break;
	}
	return ipft_trace(ctx, skb, (__u32)cookie, 0);
}

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
