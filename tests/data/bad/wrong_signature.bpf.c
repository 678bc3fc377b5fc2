// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ipft.h>
struct sk_buff { unsigned int len; };
/* Bad: module() with the wrong parameters. */
struct event { __u32 len; } __ipft_event_struct;
__hidden int module(void *ctx) { return 0; }
