/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The trace body every ipft program runs: filter on skb->mark, build the
 * event, let the extension fill its 64 bytes, and send the event to
 * userspace. Backends differ only in how they find ctx, skb and the probe id.
 */
#ifndef __IPFT_BODY_BPF_H__
#define __IPFT_BODY_BPF_H__

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "ipft_common.h"

/* Only the fields ipft reads; CO-RE relocates them against kernel BTF. */
struct sk_buff {
	__u32 mark;
} __attribute__((preserve_access_index));

/* Load-time configuration, written by userspace before the object loads. */
const volatile __u32 ipft_mark = 0;
const volatile __u32 ipft_mask = 0xffffffff;
/* Ring buffer when the kernel has it (5.8+), perf event array otherwise. */
const volatile __u8 ipft_use_ringbuf = 1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by userspace */
} ipft_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} ipft_events SEC(".maps");

/* Events that could not be reserved in the ring buffer, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ipft_lost SEC(".maps");

/*
 * The extension hook, resolved by libbpf's static linker: the user's object
 * or the built-in null module. Non-zero return drops the event.
 */
extern int module(void *ctx, struct sk_buff *skb, __u8 data[IPFT_DATA_SIZE]);

/* The probe id placeholder, as one `rX = imm` instruction userspace patches. */
static __always_inline __u64 ipft_probe_id(void)
{
	__u64 id;

	asm volatile("%0 = %1" : "=r"(id) : "i"(IPFT_PROBE_ID_MAGIC));
	return id;
}

static __always_inline void ipft_count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&ipft_lost, &zero);

	if (lost)
		*lost += 1;
}

static __always_inline int ipft_trace(void *ctx, struct sk_buff *skb, __u64 probe_id,
				      __u8 is_return)
{
	struct ipft_event ev;
	__u32 mark;

	if (!skb)
		return 0;

	mark = BPF_CORE_READ(skb, mark);
	if ((mark & ipft_mask) != (ipft_mark & ipft_mask))
		return 0;

	__builtin_memset(&ev, 0, sizeof(ev));
	ev.packet_id = (__u64)skb;
	ev.tstamp = bpf_ktime_get_ns();
	ev.probe_id = probe_id;
	ev.processor_id = bpf_get_smp_processor_id();
	ev.is_return = is_return;

	if (module(ctx, skb, ev.data) != 0)
		return 0;

	if (ipft_use_ringbuf) {
		if (bpf_ringbuf_output(&ipft_ring, &ev, sizeof(ev), 0) != 0)
			ipft_count_lost();
	} else {
		/* A full perf buffer reports its own PERF_RECORD_LOST. */
		bpf_perf_event_output(ctx, &ipft_events, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	}
	return 0;
}

#endif /* __IPFT_BODY_BPF_H__ */
