/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The part of <sys/socket.h> that the Linux UAPI headers use (struct
 * sockaddr, for <linux/if.h> and what includes it), for the BPF target,
 * which has no C library. ipft serves it to extensions.
 */
#ifndef __IPFT_SYS_SOCKET_H
#define __IPFT_SYS_SOCKET_H

#include <linux/types.h>
#include <linux/socket.h>
#include <asm/socket.h>

typedef __kernel_sa_family_t sa_family_t;
typedef __u32 socklen_t;

#define sockaddr_storage __kernel_sockaddr_storage

struct sockaddr {
	sa_family_t sa_family;
	char sa_data[14];
};

#define AF_UNSPEC 0
#define AF_UNIX 1
#define AF_INET 2
#define AF_BRIDGE 7
#define AF_INET6 10
#define AF_NETLINK 16
#define AF_PACKET 17
#define AF_XDP 44
#define AF_MCTP 45

#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define SOCK_SEQPACKET 5

#define MSG_OOB 0x1
#define MSG_PEEK 0x2
#define MSG_DONTROUTE 0x4
#define MSG_CTRUNC 0x8
#define MSG_TRUNC 0x20
#define MSG_DONTWAIT 0x40
#define MSG_EOR 0x80
#define MSG_WAITALL 0x100
#define MSG_FIN 0x200
#define MSG_SYN 0x400
#define MSG_CONFIRM 0x800
#define MSG_RST 0x1000
#define MSG_ERRQUEUE 0x2000
#define MSG_NOSIGNAL 0x4000
#define MSG_MORE 0x8000

#define PF_UNSPEC AF_UNSPEC
#define PF_UNIX AF_UNIX
#define PF_INET AF_INET
#define PF_BRIDGE AF_BRIDGE
#define PF_INET6 AF_INET6
#define PF_NETLINK AF_NETLINK
#define PF_PACKET AF_PACKET
#define PF_XDP AF_XDP
#define PF_MCTP AF_MCTP

#endif
