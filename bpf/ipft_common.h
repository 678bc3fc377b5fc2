/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Types shared by ipft's BPF programs and its userspace.
 * Keep in sync with src/event/raw.rs (sizes are asserted on both sides) and
 * IPFT_SNAPLEN_MAX with MAX_SNAPLEN in src/cli.rs.
 */
#ifndef __IPFT_COMMON_H__
#define __IPFT_COMMON_H__

#define IPFT_DATA_SIZE 64

/*
 * Placeholder immediate in every template program. Userspace replaces it in
 * each clone with the probe's id, so an event names its hook without an
 * address lookup (tracepoint and fentry clones are loaded once per target).
 */
#define IPFT_PROBE_ID_MAGIC 0x1bf7c0de

/*
 * Flags in a probe word (the patched immediate or the attach cookie), above
 * the probe id. The immediate is sign-extended from 32 bits: keep bit 31 clear.
 */
#define IPFT_PROBE_FORGET (1U << 30) /* the skb is freed here: stop tracking it */
#define IPFT_PROBE_SILENT (1U << 29) /* a free point only, not a traced hook */
#define IPFT_PROBE_CLONE (1U << 28) /* also the entry hook of a clone point */
#define IPFT_PROBE_ID_MASK (IPFT_PROBE_CLONE - 1)

/* ipft_event.flags */
#define IPFT_EVENT_END (1 << 0)	   /* the packet's skb was freed after this event */
#define IPFT_EVENT_SILENT (1 << 1) /* only marks the end of a packet: not printed */
#define IPFT_EVENT_META (1 << 2)   /* a struct ipft_meta follows the event */
#define IPFT_EVENT_DROP (1 << 3)   /* the kernel dropped the skb here (kfree_skb) */

/*
 * One traced hit: 128 bytes, the layout of ipftrace2's event record, except
 * that the third word is ipft's probe id instead of a function address, and
 * ipftrace2's padding now holds flags, the skb address and the parent id.
 */
struct ipft_event {
	__u64 packet_id;	/* the packet's id (the skb address with --no-track) */
	__u64 tstamp;		/* bpf_ktime_get_ns() */
	__u64 probe_id;		/* index into userspace's probe table */
	__u32 processor_id;	/* bpf_get_smp_processor_id() */
	__u8 is_return;		/* 1 for exit hooks */
	__u8 flags;		/* IPFT_EVENT_* */
	__u8 _pad1[2];
	__u64 skb;		/* the struct sk_buff pointer */
	__u64 parent;		/* id of the packet this one was cloned from, or 0 */
	__u32 mark;		/* skb->mark at this hook */
	__u32 len;		/* skb->len at this hook */
	__u32 ifindex;		/* skb->dev->ifindex, 0 without a device */
	__u32 netns;		/* the device's network namespace inode, 0 if unknown */
	__u8 data[IPFT_DATA_SIZE]; /* filled by the extension's module() */
};

_Static_assert(sizeof(struct ipft_event) == 128, "struct ipft_event must be 128 bytes");

/*
 * Built-in fields (--fields, --drops): when a run asks for any, every event
 * is followed by this section (before any snapshot). Zero where unknown.
 */
struct ipft_meta {
	char ifname[16];  /* skb->dev->name (--fields dev) */
	__u8 saddr[16];	  /* IPv4 in the first 4 bytes (--fields tuple) */
	__u8 daddr[16];
	__u16 sport;	  /* host order; TCP and UDP only */
	__u16 dport;
	__u8 l3;	  /* 4, 6, or 0: no IP header found */
	__u8 l4;	  /* IPPROTO_* */
	__u8 tcp_flags;	  /* FIN 0x01 .. CWR 0x80 */
	__u8 icmp_type;	  /* ICMP and ICMPv6 */
	__u8 icmp_code;
	__u8 _pad[3];
	__u32 drop_reason; /* enum skb_drop_reason at a drop (IPFT_EVENT_DROP) */
	__u64 location;	   /* the dropping code's address */
};

_Static_assert(sizeof(struct ipft_meta) == 72, "struct ipft_meta must be 72 bytes");

/*
 * --snaplen: some events carry the packet's first bytes after the 128-byte
 * event (in the same ring buffer record), behind this header. cap_len bytes
 * follow it; the record may be longer (its size is fixed per run).
 */
#define IPFT_SNAPLEN_MAX 2048
#define IPFT_LINK_ETHERNET 0 /* bytes start at the MAC header */
#define IPFT_LINK_RAW 1	     /* bytes start at the network header (IPv4/IPv6) */

struct ipft_snapshot {
	__u16 cap_len;	/* bytes captured */
	__u8 link;	/* IPFT_LINK_* */
	__u8 _pad;
	__u32 wire_len; /* the packet's length from the first captured byte */
	char ifname[16]; /* skb->dev->name, empty without a device */
};

_Static_assert(sizeof(struct ipft_snapshot) == 24, "struct ipft_snapshot must be 24 bytes");

#endif /* __IPFT_COMMON_H__ */
