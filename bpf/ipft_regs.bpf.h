/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's x86_64 struct pt_regs, for kprobe programs. The UAPI header
 * cannot be used (compiled for the bpf target it picks the 32-bit layout);
 * CO-RE relocates these fields against the running kernel's definition.
 * Defining __VMLINUX_H__ makes bpf_tracing.h use the kernel field names.
 */
#ifndef __IPFT_REGS_BPF_H__
#define __IPFT_REGS_BPF_H__

struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
} __attribute__((preserve_access_index));

#define __VMLINUX_H__
#include <bpf/bpf_tracing.h>

#endif /* __IPFT_REGS_BPF_H__ */
