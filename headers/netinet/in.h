/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * <netinet/in.h> for the BPF target, which has no C library: the kernel's
 * own definitions (struct in_addr, sockaddr_in, in6_addr, IPPROTO_*), as
 * the Linux UAPI headers that include it expect. ipft serves it to
 * extensions.
 */
#ifndef __IPFT_NETINET_IN_H
#define __IPFT_NETINET_IN_H

#include <sys/socket.h>
#include <linux/in.h>
#include <linux/in6.h>

#endif
