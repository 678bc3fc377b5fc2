//! # Embedded BPF objects
//!
//! The objects `build.rs` compiled from `bpf/`, included in the binary.

/// tp_btf templates, one per skb position (`bpf/tracepoint.bpf.c`).
pub const TRACEPOINT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tracepoint.bpf.o"));

/// The extension used when the user gives none (`bpf/null_module.bpf.c`).
pub const NULL_MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/null_module.bpf.o"));

/// kprobe programs, one per skb register (`bpf/kprobe.bpf.c`).
pub const KPROBE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kprobe.bpf.o"));

/// The kprobe-multi program, one for every skb position (`bpf/kprobe_multi.bpf.c`).
pub const KPROBE_MULTI: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kprobe_multi.bpf.o"));

/// The same, with skb and device fields read through `bpf_rdonly_cast`
/// (Linux 6.2+; `bpf/kprobe_multi_cast.bpf.c`).
pub const KPROBE_MULTI_CAST: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/kprobe_multi_cast.bpf.o"));

/// fentry/fexit templates, one per skb argument slot (`bpf/fentry.bpf.c`).
pub const FENTRY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fentry.bpf.o"));

/// The pcap-filter expression used when the user gives none (`bpf/null_filter.bpf.c`).
pub const NULL_FILTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/null_filter.bpf.o"));
