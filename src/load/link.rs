//! # Static linking in memory
//!
//! Joins a backend object and an extension object with libbpf's static
//! linker, the way `bpftool gen object` does, but into an anonymous memory
//! file: nothing is written under /tmp.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};

/// Owns a `bpf_linker` and frees it on every path.
struct Linker(*mut libbpf_sys::bpf_linker);

impl Drop for Linker {
    fn drop(&mut self) {
        // SAFETY: the pointer came from bpf_linker__new_fd and is freed once.
        unsafe { libbpf_sys::bpf_linker__free(self.0) }
    }
}

fn memfd(name: &str) -> Result<OwnedFd> {
    let cname = CString::new(name).unwrap();
    // SAFETY: cname is a valid C string; the returned fd is checked.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create failed");
    }
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Links `objects` (name, ELF bytes) into one BPF ELF object.
pub fn link(objects: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let fd = memfd("ipft-linked.bpf.o")?;
    // SAFETY: fd is valid for the linker's lifetime; NULL opts are allowed.
    let raw = unsafe { libbpf_sys::bpf_linker__new_fd(fd.as_raw_fd(), std::ptr::null_mut()) };
    if raw.is_null() {
        return Err(std::io::Error::last_os_error()).context("failed to create the BPF linker");
    }
    let linker = Linker(raw);
    for (name, bytes) in objects {
        let mut copy = bytes.to_vec();
        // SAFETY: the buffer is valid for the call; libbpf copies what it keeps.
        let rc = unsafe {
            libbpf_sys::bpf_linker__add_buf(
                linker.0,
                copy.as_mut_ptr().cast(),
                copy.len() as _,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            bail!(
                "failed to link {name}: {} (is it a BPF object compiled with -g?)",
                std::io::Error::from_raw_os_error(-rc)
            );
        }
    }
    // SAFETY: linker is valid.
    let rc = unsafe { libbpf_sys::bpf_linker__finalize(linker.0) };
    if rc != 0 {
        bail!(
            "failed to link BPF objects: {}",
            std::io::Error::from_raw_os_error(-rc)
        );
    }
    drop(linker);
    let mut file = File::from(fd);
    file.seek(SeekFrom::Start(0))?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)
        .context("failed to read the linked object")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::embedded;

    #[test]
    fn links_backend_with_null_module() {
        let obj = link(&[
            ("tracepoint", embedded::TRACEPOINT),
            ("null module", embedded::NULL_MODULE),
        ])
        .unwrap();
        assert_eq!(&obj[..4], b"\x7fELF");
        assert!(obj.len() > 1000);
    }

    #[test]
    fn garbage_is_refused() {
        let err = link(&[("junk", b"definitely not an ELF file")]).unwrap_err();
        assert!(err.to_string().contains("failed to link junk"), "{err:#}");
    }
}
