//! # Embedded headers
//!
//! Everything an extension may include, served without any file on the
//! host: ipft's `ipft.h`, bpf-target `asm/` headers and the few C-library
//! headers the UAPI includes (`headers/`), libbpf's BPF headers, the Linux
//! UAPI (`linux/`, `asm-generic/`, x86 `asm/`) and clang's freestanding headers
//! (`vendor/`). `build.rs` stores each one zstd-compressed; they are
//! decompressed once per compile.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use include_dir::{include_dir, Dir};

static EMBEDDED: Dir = include_dir!("$OUT_DIR/embedded-headers");

/// Root of the virtual tree in the in-process compiler.
pub const VIRTUAL_ROOT: &str = "/__ipft";

/// (path relative to the root, e.g. `include/linux/types.h`, contents).
pub fn all() -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![&EMBEDDED];
    while let Some(dir) = stack.pop() {
        stack.extend(dir.dirs());
        for file in dir.files() {
            let rel = file.path().to_string_lossy();
            let rel = rel.strip_suffix(".zst").unwrap_or(&rel).to_string();
            let data = zstd::decode_all(file.contents())
                .with_context(|| format!("corrupt embedded header {rel}"))?;
            out.push((rel, data));
        }
    }
    Ok(out)
}

/// Where [`write_to`] puts each of `files` (from [`all`]) under `dir`.
pub fn paths(dir: &Path, files: &[(String, Vec<u8>)]) -> Vec<PathBuf> {
    files.iter().map(|(rel, _)| dir.join(rel)).collect()
}

/// Writes `files` (from [`all`]) under `dir`, for an external compiler.
pub fn write_to(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    for (path, (_, data)) in paths(dir, files).iter().zip(files) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, data).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
