// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ipft.h>
struct sk_buff { unsigned int len; };
/* Bad: the tagged variable has a typedef type. */
typedef struct { __u32 len; } event_t;
event_t __ipft_event_struct;
__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64]) { return 0; }
