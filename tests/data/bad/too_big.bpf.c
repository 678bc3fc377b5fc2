// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ipft.h>
struct sk_buff { unsigned int len; };
/* Bad: the payload does not fit in 64 bytes. */
struct event { __u32 len; __u8 pad[61]; } __ipft_event_struct;
__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64]) { return 0; }
