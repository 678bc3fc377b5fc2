// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Keeps only events of packets longer than 1000 bytes (module() returning
 * non-zero drops an event), and numbers the events it keeps with its own
 * global variable and its own map: extensions keep state like any BPF
 * program.
 */
#include <linux/bpf.h>
#include <ipft.h>

struct big_event {
	__u32 len;
	__u64 seq;      /* from a global variable */
	__u64 per_cpu;  /* from the extension's own map */
} __ipft_event_struct;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} big_packets_seen SEC(".maps");

__u64 big_packets_seq = 0;
const volatile __u32 big_packets_min_len = 1000;

struct sk_buff {
	unsigned int len;
};

__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64])
{
	struct big_event *ev = (struct big_event *)data;
	__u32 zero = 0;
	__u64 *seen;

	ev->len = BPF_CORE_READ(skb, len);
	if (ev->len <= big_packets_min_len)
		return 1;
	ev->seq = __sync_fetch_and_add(&big_packets_seq, 1) + 1;
	seen = bpf_map_lookup_elem(&big_packets_seen, &zero);
	if (seen)
		ev->per_cpu = ++*seen;
	return 0;
}
