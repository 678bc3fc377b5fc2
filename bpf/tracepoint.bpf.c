// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tracepoint backend: one tp_btf template per skb argument position. The
 * context of a BTF tracepoint is the array of its arguments after the leading
 * `void *__data`, so the skb at position N is ctx[N]. Userspace loads each
 * template against one tracepoint that has an skb at N, then clones it per
 * tracepoint with that tracepoint's btf_trace_<name> id and its probe id.
 */
#include "ipft_body.bpf.h"

#define IPFT_TP_TEMPLATE(pos)                                                      \
	SEC("tp_btf/ipft_tp" #pos)                                                 \
	int ipft_tp##pos(__u64 *ctx)                                               \
	{                                                                          \
		return ipft_trace_btf(ctx, (struct sk_buff *)ctx[pos], ipft_probe_id(), 0); \
	}

IPFT_TP_TEMPLATE(0)
IPFT_TP_TEMPLATE(1)
IPFT_TP_TEMPLATE(2)
IPFT_TP_TEMPLATE(3)
IPFT_TP_TEMPLATE(4)
IPFT_TP_TEMPLATE(5)
IPFT_TP_TEMPLATE(6)
IPFT_TP_TEMPLATE(7)
IPFT_TP_TEMPLATE(8)
IPFT_TP_TEMPLATE(9)
IPFT_TP_TEMPLATE(10)
IPFT_TP_TEMPLATE(11)

/*
 * Every slab free of an skb, whatever path freed it (kfree_skb and
 * consume_skb do not see them all, nor the fast clones freed with their
 * original). Attached only when tracking. A raw
 * tracepoint, not tp_btf: kernels before 6.18 refuse tp_btf reads of its
 * `const void *ptr` argument. args[1] is the freed object in every kernel's
 * kmem_cache_free tracepoint.
 */
SEC("raw_tp/kmem_cache_free")
int ipft_slab_free(struct bpf_raw_tracepoint_args *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->args[1];
	__u64 key = (__u64)skb, clone;

	if (!ipft_track)
		return 0;
	if (ipft_maybe_tracked(key, 0) && bpf_map_lookup_elem(&ipft_tracked, &key))
		ipft_trace(ctx, skb, IPFT_PROBE_SILENT | IPFT_PROBE_FORGET, 0);
	/*
	 * A fast clone (struct sk_buff_fclones: TCP's transmit clones) is freed
	 * with its original, by the original's address: the clone right after it
	 * is gone too. In the plain skb cache that address is inside the padding
	 * of the same object, never another skb.
	 */
	clone = key + bpf_core_type_size(struct sk_buff);
	if (ipft_maybe_tracked(clone, 0) && bpf_map_lookup_elem(&ipft_tracked, &clone))
		ipft_trace(ctx, (struct sk_buff *)clone, IPFT_PROBE_SILENT | IPFT_PROBE_FORGET, 0);
	/* Small skb data buffers have their own slab (skb_small_head_cache). */
	ipft_head_freed(key);
	return 0;
}

/*
 * Data buffers from kmalloc: an skb recycled without an skb tracepoint
 * (UDP's deferred frees since Linux 6.18 or so) is caught here, when its
 * buffer goes. args[1] is the freed pointer in every kernel's kfree
 * tracepoint.
 */
SEC("raw_tp/kfree")
int ipft_head_free(struct bpf_raw_tracepoint_args *ctx)
{
	ipft_head_freed(ctx->args[1]);
	return 0;
}

IPFT_DROP_PROGRAM

char LICENSE[] SEC("license") = "GPL";
