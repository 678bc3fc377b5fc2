// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ipft.h>
struct sk_buff { unsigned int len; };
/* Bad: a format ipft does not know. */
struct event { __u32 len __attribute__((btf_decl_tag("ipft:fmt:octal"))); } __ipft_event_struct;
__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64]) { return 0; }
