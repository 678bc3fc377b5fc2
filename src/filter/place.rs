//! # Where a packet is seen
//!
//! `--netns` and `--ifname`/`--ifindex` select packets by their device and
//! its network namespace. The programs compare numbers (the namespace's
//! inode, the ifindex); this module turns what users type into them.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where `ip netns` keeps named namespaces.
const NAMED: &[&str] = &["/run/netns", "/var/run/netns"];

/// A network namespace by inode number, path (`/proc/PID/ns/net`) or name
/// (under /run/netns): its inode, and a file that refers to it if known.
pub fn netns(spec: &str) -> Result<(u32, Option<PathBuf>), String> {
    if !spec.is_empty() && spec.bytes().all(|b| b.is_ascii_digit()) {
        let inode: u32 = spec
            .parse()
            .map_err(|_| format!("--netns {spec}: an inode number fits in 32 bits"))?;
        return Ok((inode, find_netns_file(inode)));
    }
    let path = if spec.contains('/') {
        PathBuf::from(spec)
    } else {
        NAMED
            .iter()
            .map(|d| Path::new(d).join(spec))
            .find(|p| p.exists())
            .ok_or_else(|| {
                format!("--netns {spec}: no network namespace of that name in /run/netns (see ip netns list), nor an inode number or a path such as /proc/PID/ns/net")
            })?
    };
    let file = std::fs::File::open(&path)
        .map_err(|e| format!("--netns {spec}: cannot open {}: {e}", path.display()))?;
    // NS_GET_NSTYPE: what kind of namespace the file refers to.
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: an ioctl without argument on an open file descriptor.
    let kind = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE) };
    if kind != libc::CLONE_NEWNET {
        return Err(format!(
            "--netns {spec}: {} is not a network namespace",
            path.display()
        ));
    }
    let inode = file
        .metadata()
        .map_err(|e| format!("--netns {spec}: {e}"))?
        .ino();
    let inode = u32::try_from(inode)
        .map_err(|_| format!("--netns {spec}: inode {inode} does not fit in 32 bits"))?;
    Ok((inode, Some(path)))
}

/// The namespace ipft runs in.
pub fn own_netns() -> Result<(u32, Option<PathBuf>), String> {
    netns("/proc/self/ns/net")
}

/// A file referring to namespace `inode`: a named one, or a process's.
fn find_netns_file(inode: u32) -> Option<PathBuf> {
    let named = NAMED
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.path());
    let procs = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .map(|e| e.path().join("ns/net"));
    named
        .chain(procs)
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.ino() == inode as u64))
}

/// The ifindex of device `name` in the namespace `netns` refers to (ipft's
/// own when None), looked up from a thread that joins it.
pub fn ifindex(name: &str, netns: Option<&Path>, where_: &str) -> Result<u32, String> {
    let cname = std::ffi::CString::new(name).map_err(|_| format!("--ifname {name:?}: bad name"))?;
    let netns = netns.map(Path::to_path_buf);
    let looked_up = std::thread::spawn(move || -> Result<u32, String> {
        if let Some(path) = netns {
            let file = std::fs::File::open(&path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            // SAFETY: a namespace fd; setns affects only this thread.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!(
                    "cannot enter {}: {}",
                    path.display(),
                    std::io::Error::last_os_error()
                ));
            }
        }
        // SAFETY: a NUL-terminated name.
        Ok(unsafe { libc::if_nametoindex(cname.as_ptr()) })
    })
    .join()
    .map_err(|_| "the interface lookup failed".to_string())?
    .map_err(|e| format!("--ifname {name}: {e}"))?;
    if looked_up == 0 {
        return Err(format!(
            "--ifname {name}: no interface of that name in {where_} (see ip link)"
        ));
    }
    Ok(looked_up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_by_path_number_and_name() {
        let (own, path) = own_netns().unwrap();
        assert!(own > 0 && path.is_some());
        let (by_number, file) = netns(&own.to_string()).unwrap();
        assert_eq!(by_number, own);
        assert!(
            file.is_some(),
            "ipft's own namespace has a file (/proc/self)"
        );
        let e = netns("ipft-no-such-namespace").unwrap_err();
        assert!(e.contains("no network namespace of that name"), "{e}");
        let e = netns("/proc/self/ns/uts").unwrap_err();
        assert!(e.contains("is not a network namespace"), "{e}");
    }

    #[test]
    fn interfaces_by_name() {
        assert_eq!(ifindex("lo", None, "ipft's namespace").unwrap(), 1);
        let e = ifindex("ipft-nope0", None, "ipft's namespace").unwrap_err();
        assert!(
            e.contains("no interface of that name in ipft's namespace"),
            "{e}"
        );
    }
}
