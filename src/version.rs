//! # Version
//!
//! What `--version` reports: ipft's version, the git revision it was built
//! from, and the versions of the libraries linked into the binary.

pub const SHORT: &str = env!("CARGO_PKG_VERSION");

/// `ipft --version` output (clap prefixes the program name).
pub fn long() -> &'static str {
    let text = format!(
        "{SHORT} (git {})\nlibbpf {}.{} (vendored, static)\nclang/LLVM {} (built in, BPF target)\ntransport: BPF ring buffer, perf buffer fallback",
        env!("IPFT_GIT_REV"),
        // SAFETY: plain getters without arguments.
        unsafe { libbpf_sys::libbpf_major_version() },
        // SAFETY: as above.
        unsafe { libbpf_sys::libbpf_minor_version() },
        env!("IPFT_LLVM_VERSION"),
    );
    Box::leak(text.into_boxed_str())
}
