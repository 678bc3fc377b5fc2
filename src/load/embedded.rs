//! # Embedded BPF objects
//!
//! The objects `build.rs` compiled from `bpf/`, included in the binary.

/// tp_btf templates, one per skb position (`bpf/tracepoint.bpf.c`).
pub const TRACEPOINT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tracepoint.bpf.o"));

/// The extension used when the user gives none (`bpf/null_module.bpf.c`).
pub const NULL_MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/null_module.bpf.o"));
