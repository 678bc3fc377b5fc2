/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * <time.h> for the BPF target, which has no C library: struct timespec and
 * struct timeval as the kernel defines them (<linux/time.h>), for the Linux
 * UAPI headers that include it. ipft serves it to extensions.
 */
#ifndef __IPFT_TIME_H
#define __IPFT_TIME_H

#include <linux/time.h>

#endif
