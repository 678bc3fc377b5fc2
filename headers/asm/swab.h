/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* asm/swab.h for the bpf target: no arch-specific swab, linux/swab.h falls back to builtins. */
