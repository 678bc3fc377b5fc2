//! # Compiling extensions
//!
//! Turns an extension's C source into a BPF object, with no compiler and no
//! headers needed on the host: clang and LLVM are linked into ipft (the C++
//! shim in `shim/`), and every header an extension may include is embedded
//! ([`headers`]); `#include <vmlinux.h>` is generated from the running
//! kernel's BTF. The options match `clang -target bpf -O2 -g`.
//!
//! Each compile runs in a forked copy of ipft (no exec): LLVM's BPF CO-RE pass
//! keeps global state that makes a second compile in one process unsafe, and
//! a compiler crash then costs an error message, not the tracer.
//!
//! With `$CC` set, that compiler runs instead (`$CC` and `$CFLAGS` split into
//! words like a shell would, but no shell runs), with the same headers
//! written to a private temporary directory.
//!
//! What the built-in compiler reads is bounded too (ipft runs as root, and
//! diagnostics quote what they read): the embedded headers, and regular
//! files below the source's own directory and the `-I`/`-isystem`/`-iquote`/
//! `-idirafter` directories of `$CFLAGS` (symlinks resolved). `$CFLAGS` also
//! passes `-D` and `-U` to it; other words are left to `$CC`.
//!
//! Either compiler is bounded: it dies with ipft (PR_SET_PDEATHSIG), within
//! a wall-clock limit and (the built-in one) an address-space limit, set by
//! [`set_limits`] from `--compile-timeout` and `--compile-memory`; the source
//! must be a regular file of at most 16 MiB.

mod ffi;
pub mod headers;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// How long and how much memory a compile may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub seconds: u32,
    pub memory_mib: u64,
}

pub const DEFAULT_LIMITS: Limits = Limits {
    seconds: 60,
    memory_mib: 4096,
};

static LIMITS: std::sync::Mutex<Limits> = std::sync::Mutex::new(DEFAULT_LIMITS);

/// Sets the limits of later compiles (the command line's, once at start).
pub fn set_limits(limits: Limits) {
    *LIMITS.lock().unwrap_or_else(|e| e.into_inner()) = limits;
}

fn limits() -> Limits {
    *LIMITS.lock().unwrap_or_else(|e| e.into_inner())
}

/// In a compiler child: die with ipft (its parent `parent`), then never
/// outlive the time limit; `memory` also caps the address space.
fn bound_child(parent: libc::pid_t, limits: Limits, memory: bool) {
    // SAFETY: prctl, getppid, setrlimit and alarm take plain values; all are
    // async-signal-safe, so this may run between fork and exec.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(71);
        }
        if memory {
            let bytes = limits.memory_mib.saturating_mul(1 << 20);
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
        }
        libc::alarm(limits.seconds);
    }
}

/// The error for a compiler child that ended on signal `sig`.
fn killed(sig: i32, path: &Path, limits: Limits) -> anyhow::Error {
    if sig == libc::SIGALRM {
        return anyhow::anyhow!(
            "compiling {} took longer than {} s: the compiler was stopped (a huge or exploding source, or an #include of something that never ends?); raise --compile-timeout if it is real",
            path.display(),
            limits.seconds
        );
    }
    anyhow::anyhow!(
        "the compiler crashed on {} (signal {sig}); if the source is huge or its macros explode, it may have hit the {} MiB memory limit (--compile-memory)",
        path.display(),
        limits.memory_mib
    )
}

/// Refuses what is not a regular file of at most `max` bytes (a FIFO or a
/// device would block or never end).
pub fn check_regular_file(path: &Path, what: &str, max: u64) -> Result<u64> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{what} {} is not a regular file (a FIFO, device or directory): give the file itself",
            path.display()
        );
    }
    if meta.len() > max {
        bail!(
            "{what} {} is {} MiB; ipft takes at most {} MiB",
            path.display(),
            meta.len() >> 20,
            max >> 20
        );
    }
    Ok(meta.len())
}

/// Options shared by both compilers, after `-target bpf -O2 -g`.
const DEFINES: &[&str] = &["-D__TARGET_ARCH_x86"];

/// Does the source ask for the generated vmlinux.h?
fn wants_vmlinux_h(source: &str) -> bool {
    source.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with('#') && l.contains("include") && l.contains("vmlinux.h")
    })
}

/// Compiles `path` to a BPF object. Diagnostics go to stderr as clang prints them.
pub fn compile_file(path: &Path) -> Result<Vec<u8>> {
    check_regular_file(path, "extension source", MAX_SOURCE_BYTES)?;
    let source = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .with_context(|| format!("cannot read extension source {}", path.display()))?;
    let vmlinux = if wants_vmlinux_h(&source) {
        Some(
            ffi::vmlinux_h()
                .context("#include <vmlinux.h> needs kernel BTF (/sys/kernel/btf/vmlinux)")?,
        )
    } else {
        None
    };
    match std::env::var("CC") {
        Ok(cc) if !cc.trim().is_empty() => with_external_compiler(
            &cc,
            &std::env::var("CFLAGS").unwrap_or_default(),
            path,
            vmlinux,
        ),
        _ => {
            let flags = BuiltinFlags::parse(&std::env::var("CFLAGS").unwrap_or_default())?;
            if !flags.ignored.is_empty() {
                crate::say!(
                    "ipft: $CFLAGS: the built-in compiler takes only -I, -isystem, -iquote, -idirafter, -D and -U; ignored: {}",
                    flags.ignored.join(" ")
                );
            }
            in_process(path, vmlinux, &flags)
        }
    }
}

/// The embedded headers at their paths in the in-process compiler's tree.
fn virtual_headers() -> Result<Vec<(String, Vec<u8>)>> {
    Ok(headers::all()?
        .into_iter()
        .map(|(rel, data)| (format!("{}/{rel}", headers::VIRTUAL_ROOT), data))
        .collect())
}

/// Compiles C that ipft generated (a filter expression) with the built-in
/// compiler, whatever `$CC` says: only the embedded headers are read.
pub fn compile_source(name: &str, source: &str) -> Result<Vec<u8>> {
    let path = format!("{}/generated/{name}", headers::VIRTUAL_ROOT);
    let mut files = virtual_headers()?;
    files.push((path.clone(), source.as_bytes().to_vec()));
    let args = cc1_args(Path::new(&path));
    let out = in_child(Path::new(name), limits(), || {
        ffi::compile(&args, &files, &[])
    })?;
    if !out.ok {
        bail!(
            "the generated {name} did not compile: {}",
            out.diagnostics.trim()
        );
    }
    Ok(out.object)
}

/// The options of `clang -target bpf` that compile like the built-in
/// compiler, with the headers written under `dir` ([`write_headers`]).
pub fn clang_flags(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut flags: Vec<std::ffi::OsString> = ["-target", "bpf", "-O2", "-g", "-nostdinc"]
        .iter()
        .chain(DEFINES)
        .map(Into::into)
        .collect();
    for sub in ["clang/include", "include"] {
        flags.push("-isystem".into());
        flags.push(dir.join(sub).into());
    }
    flags
}

/// `--gen-headers DIR`: the embedded headers, and `vmlinux.h` of the running
/// kernel when it has BTF, for another compiler. An existing directory must
/// be empty or one written before (it holds `.ipft-headers`).
pub fn write_headers(dir: &Path) -> Result<()> {
    let marker = dir.join(".ipft-headers");
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() && !marker.exists() {
            bail!(
                "{} is not empty: give a new or empty directory (ipft writes the headers there)",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    headers::write_to(dir, &headers::all()?)?;
    match ffi::vmlinux_h() {
        Some(v) => std::fs::write(dir.join("include/vmlinux.h"), v)
            .with_context(|| format!("cannot write {}", dir.display()))?,
        None => crate::say!("note: no kernel BTF here, so no vmlinux.h"),
    }
    std::fs::write(&marker, "headers written by ipft --gen-headers\n")
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}

/// What the built-in compiler takes from `$CFLAGS`.
#[derive(Debug, Default, PartialEq)]
struct BuiltinFlags {
    /// cc1 arguments, each option and its value as separate words.
    args: Vec<String>,
    /// Directories it may read below (the include directories).
    dirs: Vec<std::path::PathBuf>,
    /// Words it does not take.
    ignored: Vec<String>,
}

impl BuiltinFlags {
    fn parse(cflags: &str) -> Result<BuiltinFlags> {
        const WITH_DIR: &[&str] = &["-I", "-isystem", "-iquote", "-idirafter"];
        const WITH_VALUE: &[&str] = &["-D", "-U"];
        let words = shlex::split(cflags).context("cannot split $CFLAGS into words")?;
        let mut flags = BuiltinFlags::default();
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let option = WITH_DIR
                .iter()
                .chain(WITH_VALUE)
                .find(|o| word.starts_with(**o));
            let Some(&option) = option else {
                flags.ignored.push(word);
                continue;
            };
            let value = if word.len() > option.len() {
                word[option.len()..].to_string()
            } else {
                words
                    .next()
                    .with_context(|| format!("$CFLAGS: {option} needs a value"))?
            };
            if WITH_DIR.contains(&option) {
                flags.dirs.push(value.clone().into());
            }
            flags.args.extend([option.to_string(), value]);
        }
        Ok(flags)
    }
}

/// The cc1 command line of `clang -target bpf -O2 -g -c`, headers virtual.
fn cc1_args(path: &Path) -> Vec<std::ffi::OsString> {
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/".into());
    let main_file = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
    let root = headers::VIRTUAL_ROOT;
    let mut args: Vec<String> = [
        "-triple",
        "bpf",
        "-emit-obj",
        "-disable-llvm-verifier",
        "-discard-value-names",
        "-main-file-name",
        "MAIN_FILE",
        "-mrelocation-model",
        "static",
        "-mframe-pointer=all",
        "-fmath-errno",
        "-ffp-contract=on",
        "-fno-rounding-math",
        "-debug-info-kind=constructor",
        "-dwarf-version=5",
        "-debugger-tuning=gdb",
        "-fdebug-compilation-dir",
        &cwd,
        "-resource-dir",
        &format!("{root}/clang"),
        "-nostdsysteminc",
        "-isystem",
        &format!("{root}/include"),
        "-O2",
        "-ferror-limit",
        "19",
        "-fgnuc-version=4.2.1",
        "-vectorize-loops",
        "-vectorize-slp",
        "-faddrsig",
        "-fmessage-length=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(DEFINES.iter().map(|s| s.to_string()));
    args.extend([
        "-o".into(),
        "ipft-extension.o".into(),
        "-x".into(),
        "c".into(),
    ]);
    let mut args: Vec<std::ffi::OsString> = args
        .into_iter()
        .map(|a| {
            if a == "MAIN_FILE" {
                main_file.clone()
            } else {
                a.into()
            }
        })
        .collect();
    args.push(path.as_os_str().to_owned());
    args
}

fn in_process(path: &Path, vmlinux: Option<Vec<u8>>, flags: &BuiltinFlags) -> Result<Vec<u8>> {
    let root = headers::VIRTUAL_ROOT;
    let mut files = virtual_headers()?;
    if let Some(v) = vmlinux {
        files.push((format!("{root}/include/vmlinux.h"), v));
    }
    let mut args = cc1_args(path);
    // The user's directories and macros go before the source file.
    let source = args.pop();
    args.extend(flags.args.iter().map(Into::into));
    args.extend(source);
    // The source's own directory, wherever the path given leads.
    let mut roots: Vec<std::path::PathBuf> = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .into_iter()
        .collect();
    roots.extend(flags.dirs.iter().cloned());
    let limits = limits();
    let out = in_child(path, limits, || {
        // clang needs a working directory: with the caller's deleted, use /.
        if std::env::current_dir().is_err() {
            let _ = std::env::set_current_dir("/");
        }
        ffi::compile(&args, &files, &roots)
    })?;
    crate::say_part!("{}", out.diagnostics);
    if !out.ok {
        if let Some(missing) = missing_header(&out.diagnostics) {
            if missing.starts_with('/') || missing.starts_with("..") || is_embed(&out.diagnostics) {
                bail!(
                    "failed to compile {}: {missing} is missing or outside what ipft's compiler reads (the extension's directory, the -I directories of $CFLAGS and ipft's embedded headers)",
                    path.display()
                );
            }
            bail!(
                "failed to compile {}: <{missing}> is not among the headers ipft carries (it reads no system headers; -I directories in $CFLAGS add your own); available: {}",
                path.display(),
                available_headers()?
            );
        }
        bail!("failed to compile {} (errors above)", path.display());
    }
    Ok(out.object)
}

/// The header a "file not found" diagnostic names.
fn missing_header(diagnostics: &str) -> Option<String> {
    let line = diagnostics
        .lines()
        .find(|l| l.contains("fatal error: '") && l.ends_with("' file not found"))?;
    let start = line.find("fatal error: '")? + "fatal error: '".len();
    Some(line[start..line.len() - "' file not found".len()].to_string())
}

/// Is the file a "file not found" diagnostic names an `#embed`?
fn is_embed(diagnostics: &str) -> bool {
    let mut lines = diagnostics.lines();
    lines.any(|l| l.contains("' file not found"))
        && lines.next().is_some_and(|l| l.contains("#embed"))
}

/// What the embedded headers are, in one line: groups, and clang's
/// freestanding headers by name (the ones a C programmer looks for).
fn available_headers() -> Result<String> {
    let mut freestanding: Vec<String> = headers::all()?
        .into_iter()
        .filter_map(|(rel, _)| {
            let name = rel.strip_prefix("clang/include/")?;
            (!name.starts_with("__")).then(|| name.to_string())
        })
        .collect();
    freestanding.sort();
    Ok(format!(
        "<ipft.h>, <vmlinux.h>, libbpf's <bpf/*.h>, the Linux UAPI (<linux/*.h>, <linux/netfilter/*.h>, <asm/*.h>, <asm-generic/*.h>) and clang's {}; `ipft --gen-headers DIR` writes them out for another compiler",
        freestanding.join(" ")
    ))
}

/// Largest extension source ipft compiles: far beyond any real extension,
/// small enough to refuse a wrong file quickly.
const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// Runs `job` in a forked child and returns what it produced.
fn in_child(path: &Path, limits: Limits, job: impl FnOnce() -> ffi::Output) -> Result<ffi::Output> {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let mut fds = [0; 2];
    // SAFETY: fds is a valid out-array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("pipe failed");
    }
    // SAFETY: both fds are fresh and ours.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child only runs `job` and writes to the pipe, then _exits
    // without returning into the parent's code or running its destructors.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("fork failed");
    }
    if pid == 0 {
        drop(read_end);
        bound_child(parent, limits, true);
        let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let out = job();
            let mut frame = Vec::with_capacity(out.object.len() + out.diagnostics.len() + 9);
            frame.push(out.ok as u8);
            frame.extend((out.object.len() as u64).to_ne_bytes());
            frame.extend(&out.object);
            frame.extend(out.diagnostics.as_bytes());
            let mut file = std::fs::File::from(write_end);
            std::io::Write::write_all(&mut file, &frame).is_ok()
        }));
        // SAFETY: leaving the child without unwinding into the parent's frames.
        unsafe { libc::_exit(if matches!(status, Ok(true)) { 0 } else { 70 }) };
    }
    drop(write_end);
    let mut frame = Vec::new();
    let read = std::fs::File::from(read_end).read_to_end(&mut frame);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    read.context("reading the compiler's output failed")?;
    if libc::WIFSIGNALED(status) {
        return Err(killed(libc::WTERMSIG(status), path, limits));
    }
    if frame.len() < 9 {
        bail!(
            "the built-in compiler exited without a result on {} (status {})",
            path.display(),
            libc::WEXITSTATUS(status)
        );
    }
    let ok = frame[0] != 0;
    let len = u64::from_ne_bytes(frame[1..9].try_into().unwrap()) as usize;
    let object = frame
        .get(9..9 + len)
        .context("truncated compiler output")?
        .to_vec();
    let diagnostics = String::from_utf8_lossy(&frame[9 + len..]).into_owned();
    Ok(ffi::Output {
        ok,
        object,
        diagnostics,
    })
}

fn with_external_compiler(
    cc: &str,
    cflags: &str,
    path: &Path,
    vmlinux: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let words = shlex::split(cc)
        .filter(|w| !w.is_empty())
        .context("cannot split $CC into words")?;
    let flags = shlex::split(cflags).context("cannot split $CFLAGS into words")?;
    // Created with mode 0700 and removed when dropped.
    let dir = tempfile::Builder::new()
        .prefix("ipft-cc-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let obj = dir.path().join("extension.o");
    let vmlinux_path = dir.path().join("include/vmlinux.h");
    let files = headers::all()?;
    let mut written = headers::paths(dir.path(), &files);
    written.extend([vmlinux_path.clone(), obj.clone()]);
    // Removes the directory even if ipft is killed while it is written or $CC runs.
    let _janitor = Janitor::watch(dir.path(), &written);
    headers::write_to(dir.path(), &files)?;
    if let Some(v) = vmlinux {
        std::fs::write(&vmlinux_path, v)?;
    }
    let mut cc = Command::new(&words[0]);
    // A compiler needs a working directory: with the caller's deleted, use /.
    if std::env::current_dir().is_err() {
        cc.current_dir("/");
    }
    let limits = limits();
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: bound_child only makes async-signal-safe calls.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cc, move || {
            bound_child(parent, limits, false);
            Ok(())
        });
    }
    let output = cc
        .args(&words[1..])
        .args(clang_flags(dir.path()))
        .args(&flags)
        .arg("-c")
        .arg(path)
        .arg("-o")
        .arg(&obj)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run $CC ({})", words[0]))?;
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&output.status) {
        if sig == libc::SIGALRM {
            return Err(killed(sig, path, limits));
        }
    }
    if !output.status.success() {
        bail!(
            "$CC ({}) failed to compile {} ({})",
            words[0],
            path.display(),
            output.status
        );
    }
    std::fs::read(&obj).with_context(|| format!("$CC ({}) wrote no object", words[0]))
}

/// A forked process that removes a temporary directory once ipft is gone:
/// [`tempfile::TempDir`] cleans up on every path that runs destructors, this
/// on the rest (SIGKILL, a crash). It waits for the end of a pipe whose
/// write end only ipft holds, then unlinks what ipft wrote there.
struct Janitor {
    pid: libc::pid_t,
    write_end: Option<OwnedFd>,
}

impl Janitor {
    /// Best effort: without a janitor only a killed ipft leaves the files.
    fn watch(dir: &Path, files: &[std::path::PathBuf]) -> Option<Janitor> {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).ok();
        let files: Vec<std::ffi::CString> = files.iter().filter_map(|f| c(f)).collect();
        // Every directory below `dir` that holds a file, deepest first, then `dir`.
        let mut dirs: Vec<&Path> = Vec::new();
        for f in files
            .iter()
            .map(|f| Path::new(std::ffi::OsStr::from_bytes(f.as_bytes())))
        {
            let mut d = f.parent();
            while let Some(p) = d.filter(|p| p.starts_with(dir) && *p != dir) {
                dirs.push(p);
                d = p.parent();
            }
        }
        dirs.sort_by(|a, b| (b.components().count(), a).cmp(&(a.components().count(), b)));
        dirs.dedup();
        dirs.push(dir);
        let dirs: Vec<std::ffi::CString> = dirs.into_iter().filter_map(c).collect();
        let mut fds = [0; 2];
        // SAFETY: fds is a valid out-array of two ints.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return None;
        }
        // SAFETY: both fds are fresh and ours.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: the child makes only async-signal-safe calls on memory
        // prepared before the fork, then _exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return None;
        }
        if pid == 0 {
            use std::os::fd::AsRawFd;
            drop(write_end);
            // SAFETY: async-signal-safe calls on valid fds, paths and sets.
            unsafe {
                // Out of the terminal's process group: Ctrl-C is for ipft.
                libc::setsid();
                let mut all: libc::sigset_t = std::mem::zeroed();
                libc::sigfillset(&mut all);
                libc::sigprocmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
                let mut byte = 0u8;
                loop {
                    let n = libc::read(read_end.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
                    if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                        break;
                    }
                }
                for f in &files {
                    libc::unlink(f.as_ptr());
                }
                for d in &dirs {
                    libc::rmdir(d.as_ptr());
                }
                libc::_exit(0);
            }
        }
        Some(Janitor {
            pid,
            write_end: Some(write_end),
        })
    }
}

impl Drop for Janitor {
    fn drop(&mut self) {
        // The end of the pipe wakes the janitor; then reap it.
        drop(self.write_end.take());
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmlinux_include_is_detected() {
        assert!(wants_vmlinux_h("#include <vmlinux.h>\n"));
        assert!(wants_vmlinux_h("  #  include \"vmlinux.h\""));
        assert!(!wants_vmlinux_h(
            "// no vmlinux.h here\n#include <linux/types.h>"
        ));
    }

    #[test]
    fn builtin_compiler_takes_include_dirs_and_macros_from_cflags() {
        let f =
            BuiltinFlags::parse("-I inc -Iother -isystem /sys/inc -DX=1 -D Y -UZ -O2 -g").unwrap();
        assert_eq!(
            f.args,
            [
                "-I", "inc", "-I", "other", "-isystem", "/sys/inc", "-D", "X=1", "-D", "Y", "-U",
                "Z"
            ]
        );
        assert_eq!(
            f.dirs,
            ["inc", "other", "/sys/inc"].map(std::path::PathBuf::from)
        );
        assert_eq!(f.ignored, ["-O2", "-g"]);
        assert!(BuiltinFlags::parse("-I").is_err());
        assert_eq!(BuiltinFlags::parse("").unwrap(), BuiltinFlags::default());
    }

    #[test]
    fn missing_header_is_named() {
        let diag = "x.c:1:10: fatal error: 'stdio.h' file not found\n    1 | #include <stdio.h>\n";
        assert_eq!(missing_header(diag).as_deref(), Some("stdio.h"));
        assert_eq!(missing_header("x.c:2:1: error: something"), None);
        let list = available_headers().unwrap();
        assert!(
            list.contains("<linux/*.h>") && list.contains("<bpf/*.h>") && list.contains("stdint.h")
        );
        assert!(list.contains("vmlinux.h") && list.contains("ipft.h"));
    }

    #[test]
    fn headers_are_embedded() {
        let all = headers::all().unwrap();
        for want in [
            "include/ipft.h",
            "include/bpf/bpf_helpers.h",
            "include/linux/types.h",
            "include/asm/types.h",
            "include/linux/icmp.h",
            "include/linux/pkt_cls.h",
            "include/linux/netfilter.h",
            "include/linux/netfilter/nf_tables.h",
            "include/asm/sockios.h",
            "clang/include/stdint.h",
        ] {
            assert!(all.iter().any(|(p, _)| p == want), "{want} not embedded");
        }
    }

    fn example(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/extensions")
            .join(name)
    }

    /// LLVM's CO-RE bug bites on the second CO-RE compile in a process:
    /// compile two different files and one of them twice, in this process.
    #[test]
    fn repeated_core_compiles_in_one_process() {
        let a = compile_file(&example("gso.bpf.c")).unwrap();
        let b = compile_file(&example("all_printers.bpf.c")).unwrap();
        let a2 = compile_file(&example("gso.bpf.c")).unwrap();
        assert_eq!(&a[..4], b"\x7fELF");
        assert_eq!(&b[..4], b"\x7fELF");
        assert_eq!(a, a2, "the same source compiles to the same object");
    }
}
