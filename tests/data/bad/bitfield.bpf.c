// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ipft.h>
struct sk_buff { unsigned int len; };
/* Bad: bitfields cannot be read byte-wise. */
struct event { __u32 a : 3; __u32 b : 5; } __ipft_event_struct;
__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64]) { return 0; }
