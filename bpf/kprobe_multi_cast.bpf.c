// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kprobe-multi backend for kernels with bpf_rdonly_cast (Linux 6.2+):
 * the same programs, but the skb and device fields each hit reads (the mark
 * test on every hit of every function; mark, length, device, namespace and
 * head on every event) are fault-safe loads through a read-only BTF cast
 * instead of bpf_probe_read_kernel calls. Userspace loads this object only
 * where kernel BTF has the kfunc, and the plain one if this one is refused.
 */
#define IPFT_READ_BY_CAST 1
#include "kprobe_multi.bpf.c"
