// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ipft.h>
struct sk_buff { unsigned int len; };
/* Bad: nested structs are not decoded. */
struct inner { __u32 a; };
struct event { struct inner in; } __ipft_event_struct;
__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64]) { return 0; }
