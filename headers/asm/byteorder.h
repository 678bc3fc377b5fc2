/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* asm/byteorder.h for the bpf target: the byte order clang compiles for. */
#ifndef __IPFT_ASM_BYTEORDER_H
#define __IPFT_ASM_BYTEORDER_H
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include <linux/byteorder/little_endian.h>
#else
#error "ipft's embedded headers only cover little-endian BPF (bpfel)"
#endif
#endif
