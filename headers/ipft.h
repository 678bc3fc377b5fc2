/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __IPFT_EXTENSION_H__
#define __IPFT_EXTENSION_H__

#ifndef __VMLINUX_H__ /* vmlinux.h, when included first, has these types */
#include <linux/types.h>
#endif
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/*
 * ipft extension API, compatible with ipftrace2's.
 *
 * An extension is a BPF C file defining
 *
 *   __hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64]);
 *
 * ipft calls it for every traced event; it writes up to 64 bytes into
 * data and returns 0 to keep the event (non-zero drops it). A struct
 * tagged __ipft_event_struct tells ipft how to print those bytes:
 *
 *   struct event {
 *           unsigned int len;
 *           unsigned int flags __ipft_fmt_hex;
 *   } __ipft_event_struct;
 */
#define IPFT_EXTENSION_ABI 1

/* Section for declarations that only carry BTF for ipft (never loaded). */
#define __ipft_sec_skip __attribute__((section("__ipft_skip")))
/* Keeps an enum's BTF alive: enum my_enum __ipft_ref(my_enum_ref); */
#define __ipft_ref(name) name __ipft_sec_skip
/* Marks the payload struct: struct event { ... } __ipft_event_struct; */
#define __ipft_event_struct __ipft_event_struct __ipft_sec_skip
/* Print an integer member as 0x-prefixed hex: __u32 flags __ipft_fmt_hex; */
#define __ipft_fmt_hex __attribute__((btf_decl_tag("ipft:fmt:hex")))
/* Print an integer member as the name of a value of the referenced enum:
 * __u8 proto __ipft_fmt_enum(my_enum_ref); */
#define __ipft_fmt_enum(ref) __attribute__((btf_decl_tag("ipft:fmt:enum:" #ref)))
/* Print an integer member as the names of the enum's bits that are set,
 * joined by '|': __u32 gso_type __ipft_fmt_enum_flags(gso_types); */
#define __ipft_fmt_enum_flags(ref) __attribute__((btf_decl_tag("ipft:fmt:enum_flags:" #ref)))

#endif
