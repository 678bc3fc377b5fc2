// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One member for every printer ipft has, filled with known values (and
 * skb->len and skb->mark) so tests can check what comes out.
 */
#include <ipft.h>

enum ip_protos { proto_tcp = 6, proto_udp = 17 } __ipft_ref(protos);
enum flag_bits { flag_a = 1, flag_b = 2, flag_c = 4 } __ipft_ref(flagbits);
enum big_values { big_one = 1ULL << 40 } __ipft_ref(bigs);
enum color { RED, GREEN, BLUE };

struct all_printers {
	__u32 len;
	__s16 neg;
	_Bool ok;
	char c;
	__u32 mark __ipft_fmt_hex;
	__u8 proto __ipft_fmt_enum(protos);
	__u32 flags __ipft_fmt_enum_flags(flagbits);
	__u64 big __ipft_fmt_enum(bigs);
	enum color col;
	char name[6];
	__u8 raw[4];
	void *skbp;
} __ipft_event_struct;

struct sk_buff {
	unsigned int len;
	__u32 mark;
};

__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64])
{
	struct all_printers *ev = (struct all_printers *)data;

	ev->len = BPF_CORE_READ(skb, len);
	ev->neg = -42;
	ev->ok = 1;
	ev->c = 'x';
	ev->mark = BPF_CORE_READ(skb, mark);
	ev->proto = proto_udp;
	ev->flags = flag_a | flag_c;
	ev->big = big_one;
	ev->col = GREEN;
	__builtin_memcpy(ev->name, "ipft", 5);
	ev->raw[0] = 0xde;
	ev->raw[1] = 0xad;
	ev->raw[2] = 0xbe;
	ev->raw[3] = 0xef;
	ev->skbp = skb;
	return 0;
}
