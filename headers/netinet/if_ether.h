/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* <netinet/if_ether.h> for the BPF target: the kernel's <linux/if_ether.h>. */
#ifndef __IPFT_NETINET_IF_ETHER_H
#define __IPFT_NETINET_IF_ETHER_H

#include <linux/if_ether.h>

#endif
