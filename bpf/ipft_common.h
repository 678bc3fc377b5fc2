/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Types shared by ipft's BPF programs and its userspace.
 * Keep in sync with src/event/raw.rs (sizes are asserted on both sides).
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
 * One traced hit: 128 bytes, the layout of ipftrace2's event record, except
 * that the third word is ipft's probe id instead of a function address.
 */
struct ipft_event {
	__u64 packet_id;	/* the struct sk_buff pointer */
	__u64 tstamp;		/* bpf_ktime_get_ns() */
	__u64 probe_id;		/* index into userspace's probe table */
	__u32 processor_id;	/* bpf_get_smp_processor_id() */
	__u8 is_return;		/* 1 for exit hooks */
	__u8 _pad[35];
	__u8 data[IPFT_DATA_SIZE]; /* filled by the extension's module() */
};

_Static_assert(sizeof(struct ipft_event) == 128, "struct ipft_event must be 128 bytes");

#endif /* __IPFT_COMMON_H__ */
