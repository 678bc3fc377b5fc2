/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * asm/bitsperlong.h for the bpf target: BPF is 64-bit. x86's own header
 * tests __x86_64__, which the bpf target does not define, and would say 32.
 */
#ifndef __IPFT_ASM_BITSPERLONG_H
#define __IPFT_ASM_BITSPERLONG_H
#define __BITS_PER_LONG 64
#include <asm-generic/bitsperlong.h>
#endif
