// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kprobe-multi backend for kernels with bpf_rdonly_cast (Linux 6.2+):
 * the same programs, but the mark test, which runs on every hit of every
 * function, reads skb->mark with one fault-safe load through a read-only BTF
 * cast instead of a bpf_probe_read_kernel call. Userspace loads this object
 * only where kernel BTF has the kfunc.
 */
#define IPFT_MARK_BY_CAST 1
#include "kprobe_multi.bpf.c"
