//! # Discovery cache
//!
//! A finished [`Discovery`] kept in `/run/ipft` for later runs in the same
//! boot. Discovery is most of ipft's start-up (the kernel formats kallsyms
//! and ftrace's list of traceable functions, ipft scans every BTF type) and
//! none of what it finds changes until the kernel's code does: a module
//! loaded, reloaded or removed, or another boot.
//!
//! The key names everything a discovery depends on, one fact per line: the
//! boot, every module (name, size, state, load address), every BTF object
//! (name, inode, size: sysfs gives a reloaded module's BTF a new inode) and
//! this ipft binary. A run whose key differs in any way discovers afresh and
//! replaces the file, so an address from another kernel state is never used.
//! A discovery is kept only if kallsyms showed addresses.

use std::fmt::Write as _;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Discovery;

/// tmpfs on systemd machines and most others: emptied at every boot.
pub const DIR: &str = "/run/ipft";
const FILE: &str = "discovery.json";
/// Raised whenever what discovery finds, or how it is written, changes.
const FORMAT: u32 = 1;
/// Far above any real kernel's discovery (about 0.5 MB with 2,000 functions).
const MAX_SIZE: u64 = 64 << 20;

/// The file in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Everything a discovery of `btf_dir` depends on, one fact per line.
pub fn key(btf_dir: &Path) -> Result<String> {
    let mut key = format!(
        "format {FORMAT}\nipft {} {}\n",
        crate::version::SHORT,
        env!("IPFT_GIT_REV")
    );
    // A rebuilt binary may discover differently under the same version.
    let exe = fs::metadata("/proc/self/exe").context("failed to stat /proc/self/exe")?;
    let _ = writeln!(
        key,
        "exe {} {} {} {}.{:09}",
        exe.dev(),
        exe.ino(),
        exe.size(),
        exe.mtime(),
        exe.mtime_nsec()
    );
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .context("failed to read /proc/sys/kernel/random/boot_id")?;
    let _ = writeln!(key, "boot {}", boot.trim());
    key_modules(&mut key)?;
    let mut btf: Vec<(String, u64, u64)> = fs::read_dir(btf_dir)
        .with_context(|| format!("failed to list {}", btf_dir.display()))?
        .map(|entry| {
            let entry = entry?;
            let meta = entry.metadata()?;
            Ok((
                entry.file_name().to_string_lossy().into_owned(),
                meta.ino(),
                meta.size(),
            ))
        })
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("failed to list {}", btf_dir.display()))?;
    btf.sort();
    for (name, ino, size) in btf {
        let _ = writeln!(key, "btf {name} {ino} {size}");
    }
    Ok(key)
}

/// Every module's name, size, state and address (`/proc/modules` without
/// the reference counts, which change while nothing else does). A kernel
/// without modules has no such file.
fn key_modules(key: &mut String) -> Result<()> {
    let modules = match fs::read_to_string("/proc/modules") {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).context("failed to read /proc/modules"),
    };
    for line in modules.lines() {
        // name size refcount users state address [taints]
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let [name, size, _, _, state, address, ..] = fields[..] else {
            bail!("unexpected line in /proc/modules: {line:?}");
        };
        let _ = writeln!(key, "module {name} {size} {state} {address}");
    }
    Ok(())
}

/// The discovery kept in `dir` under `key`; `Err` says why there is none.
pub fn load(dir: &Path, key: &str) -> Result<Discovery, String> {
    let path = path(dir);
    let mut file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("no {} yet", path.display()))
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    trusted(&meta, &path)?;
    if meta.size() > MAX_SIZE {
        return Err(format!("{} is too large to be ipft's", path.display()));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (stored, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let stored: String = serde_json::from_str(stored)
        .map_err(|e| format!("{} is not a discovery cache ({e})", path.display()))?;
    if stored != key {
        return Err(format!(
            "{} was written for another kernel state ({})",
            path.display(),
            first_difference(&stored, key)
        ));
    }
    serde_json::from_str(rest).map_err(|e| format!("{} is unreadable ({e})", path.display()))
}

/// The first line of `key` that `stored` lacks, for `-v`.
fn first_difference(stored: &str, key: &str) -> String {
    match key.lines().find(|line| !stored.lines().any(|s| s == *line)) {
        Some(line) => format!("now: {line}"),
        None => "a module or BTF object is gone".to_string(),
    }
}

/// Only root's own file (or directory) is read: anyone else who could write
/// it could choose where ipft attaches.
fn trusted(meta: &fs::Metadata, path: &Path) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid || meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is not ipft's: owned by uid {} with mode {:o} (expected uid {euid}, writable by \
             the owner only); remove it",
            path.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Why `discovery` must not be kept, if it must not: without addresses
/// (kernel.kptr_restrict), a later run with a view of them would lose them.
fn incomplete(discovery: &Discovery) -> Option<&'static str> {
    discovery
        .functions
        .iter()
        .all(|f| f.addr == 0)
        .then_some("kallsyms showed no addresses")
}

/// Keeps `discovery` in `dir` under `key`, replacing what was there at
/// once (a reader sees the old file or the new one). `Ok(Err(why))`: not
/// kept, and why.
pub fn store(dir: &Path, key: &str, discovery: &Discovery) -> Result<Result<(), &'static str>> {
    if let Some(why) = incomplete(discovery) {
        return Ok(Err(why));
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("failed to create {}", dir.display())),
    }
    let meta =
        fs::symlink_metadata(dir).with_context(|| format!("failed to stat {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    trusted(&meta, dir).map_err(anyhow::Error::msg)?;

    let mut text = serde_json::to_string(key)?;
    text.push('\n');
    text.push_str(&serde_json::to_string(discovery)?);
    let temp = dir.join(format!(".{FILE}.{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        fs::rename(&temp, path(dir))
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e).with_context(|| format!("failed to write {}", path(dir).display()));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::{
        btf::SkbArg, ksyms::TraceableSource, KernelFunctions, Target, TargetKind,
    };

    fn discovery(addr: u64) -> Discovery {
        Discovery {
            functions: vec![Target {
                kind: TargetKind::Function,
                name: "ip_rcv".into(),
                module: "vmlinux".into(),
                addr,
                btf_id: 42,
                btf_obj: None,
                skb: SkbArg {
                    pos: 0,
                    in_register: true,
                    trampoline_ok: true,
                },
                returns_skb: false,
            }],
            tracepoints: vec![],
            traceable_source: TraceableSource::FilterFunctions(
                "/sys/kernel/tracing/available_filter_functions".into(),
            ),
            drops: Default::default(),
            kernel_functions: KernelFunctions {
                fprobe: true,
                rdonly_cast: false,
            },
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ipft-cache-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_stored_discovery_comes_back_under_its_key_only() {
        let dir = temp_dir("key");
        let d = discovery(0xffffffff81a2b3c0);
        assert_eq!(
            store(&dir, "boot a\nmodule veth 4096 Live 0x1\n", &d).unwrap(),
            Ok(())
        );
        assert_eq!(load(&dir, "boot a\nmodule veth 4096 Live 0x1\n"), Ok(d));
        let other = load(&dir, "boot a\nmodule veth 4096 Live 0x2\n").unwrap_err();
        assert!(other.contains("another kernel state"), "{other}");
        assert!(other.contains("now: module veth 4096 Live 0x2"), "{other}");
        assert_eq!(
            fs::metadata(&dir).unwrap().mode() & 0o777,
            0o700,
            "the directory is root's alone"
        );
        assert_eq!(fs::metadata(path(&dir)).unwrap().mode() & 0o777, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn incomplete_discoveries_are_not_kept() {
        let dir = temp_dir("incomplete");
        assert_eq!(
            store(&dir, "k", &discovery(0)).unwrap(),
            Err("kallsyms showed no addresses")
        );
        assert!(load(&dir, "k").unwrap_err().contains("no "));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_that_are_not_ipft_s_are_refused() {
        let dir = temp_dir("foreign");
        fs::create_dir(&dir).unwrap();
        fs::write(path(&dir), "not json\n{}").unwrap();
        let why = load(&dir, "k").unwrap_err();
        assert!(why.contains("not a discovery cache"), "{why}");
        let mut perms = fs::metadata(path(&dir)).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o666);
        fs::set_permissions(path(&dir), perms).unwrap();
        let why = load(&dir, "k").unwrap_err();
        assert!(why.contains("remove it"), "{why}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_names_the_boot_and_every_btf_object() {
        let Ok(key) = key(Path::new("/sys/kernel/btf")) else {
            eprintln!("SKIP: no /sys/kernel/btf or /proc here");
            return;
        };
        assert!(key.starts_with(&format!("format {FORMAT}\n")), "{key}");
        assert!(key.lines().any(|l| l.starts_with("boot ")), "{key}");
        assert!(key.lines().any(|l| l.starts_with("btf vmlinux ")), "{key}");
        assert_eq!(
            key,
            super::key(Path::new("/sys/kernel/btf")).unwrap(),
            "stable"
        );
    }
}
