// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ipft.h>
struct sk_buff { unsigned int len; };
/* Bad: no module() at all. */
struct event { __u32 len; } __ipft_event_struct;
int not_module(void *ctx) { return 0; }
