/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * <string.h> for the BPF target, which has no C library: the memory
 * functions as clang builtins (inlined, as BPF needs), for the Linux UAPI
 * headers that use them. ipft serves it to extensions.
 */
#ifndef __IPFT_STRING_H
#define __IPFT_STRING_H

#define memcpy __builtin_memcpy
#define memmove __builtin_memmove
#define memset __builtin_memset
#define memcmp __builtin_memcmp

#endif
