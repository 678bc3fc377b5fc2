// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ipft.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct sk_buff { unsigned int len; };
/* Bad: a map pinned by name would stay in bpffs after ipft exits. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipft_test_pinned SEC(".maps");
struct event { __u32 len; } __ipft_event_struct;
__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64])
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&ipft_test_pinned, &zero);

	if (n)
		*n += 1;
	return 0;
}
