// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * GSO state of every traced packet: its length and the segmentation
 * offload fields of skb_shared_info, with gso_type printed as flag names.
 *
 *   clang -target bpf -O2 -g -I<ipft headers> -c gso.bpf.c -o gso.bpf.o
 *   ipft -m 0xdeadbeef -e gso.bpf.o
 */
#include <ipft.h>

/* The SKB_GSO_* bits of include/linux/skbuff.h. */
enum {
	tcpv4 = 1 << 0,
	dodgy = 1 << 1,
	tcp_ecn = 1 << 2,
	tcp_fixedid = 1 << 3,
	tcpv6 = 1 << 4,
	fcoe = 1 << 5,
	gre = 1 << 6,
	gre_csum = 1 << 7,
	ipxip4 = 1 << 8,
	ipxip6 = 1 << 9,
	udp_tunnel = 1 << 10,
	udp_tunnel_csum = 1 << 11,
	partial = 1 << 12,
	tunnel_remcsum = 1 << 13,
	sctp = 1 << 14,
	esp = 1 << 15,
	udp = 1 << 16,
	udp_l4 = 1 << 17,
	fraglist = 1 << 18,
} __ipft_ref(gso_types);

struct gso_event {
	__u32 len;
	__u16 gso_size;
	__u16 gso_segs;
	__u32 gso_type __ipft_fmt_enum_flags(gso_types);
} __ipft_event_struct;

/* CO-RE relocates these against the running kernel's definitions. */
struct sk_buff {
	unsigned int len;
	unsigned char *head;
	unsigned int end; /* an offset from head on 64-bit kernels */
};

struct skb_shared_info {
	unsigned short gso_size;
	unsigned short gso_segs;
	unsigned int gso_type;
} __attribute__((preserve_access_index));

__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64])
{
	struct gso_event *ev = (struct gso_event *)data;
	struct skb_shared_info *shinfo;

	ev->len = BPF_CORE_READ(skb, len);
	shinfo = (struct skb_shared_info *)(BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, end));
	ev->gso_size = BPF_CORE_READ(shinfo, gso_size);
	ev->gso_segs = BPF_CORE_READ(shinfo, gso_segs);
	ev->gso_type = BPF_CORE_READ(shinfo, gso_type);
	return 0;
}
