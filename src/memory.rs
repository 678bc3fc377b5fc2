//! # Memory once attached
//!
//! Start-up (BTF, kallsyms, linking, loading, attaching) touches far more of
//! ipft than the run loop needs. Once the trace is ready, what only start-up
//! used goes back to the kernel: the heap it freed, and the pages of the
//! static binary's code it ran. The run loop faults back the few code pages
//! it needs.

/// Every thread allocates from the main heap: memory a start-up thread freed
/// (kallsyms pieces) is then given back by `malloc_trim`, which cannot shrink
/// the top of another thread's arena. ipft's threads allocate little.
pub fn one_arena() {
    // SAFETY: sets a malloc tunable, before any thread is started.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
}

/// Gives back the freed heap and the start-up code pages (see the module
/// comment). Failures only cost memory, so they are logged, never raised.
pub fn release_startup() {
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    let trimmed = unsafe { libc::malloc_trim(0) };
    log::debug!(
        "freed heap returned to the kernel: {}",
        if trimmed == 1 { "some" } else { "none" }
    );
    release_code();
}

/// MADV_PAGEOUT (Linux 5.4+; elsewhere nothing happens) on the read-only
/// executable mappings of our own binary. Text is clean and file-backed: a
/// page out only costs a refault, never data. Nothing writable is touched.
fn release_code() {
    const MADV_PAGEOUT: libc::c_int = 21;
    let (Ok(exe), Ok(maps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/maps"),
    ) else {
        return;
    };
    for (start, end) in code_mappings(&maps, &exe.to_string_lossy()) {
        // SAFETY: a read-only, executable, file-backed mapping of this
        // binary (see above); the range comes from the kernel.
        let rc = unsafe { libc::madvise(start as *mut libc::c_void, end - start, MADV_PAGEOUT) };
        let result = if rc == 0 {
            "released".to_string()
        } else {
            std::io::Error::last_os_error().to_string()
        };
        log::debug!(
            "start-up code pages ({} MiB mapped): {result}",
            (end - start) >> 20
        );
    }
}

/// The `r-xp` ranges of `exe` in `/proc/self/maps` text.
fn code_mappings(maps: &str, exe: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut parts = line.split_ascii_whitespace();
            let (range, perms) = (parts.next()?, parts.next()?);
            // The path is the rest of the line, and may hold spaces.
            let path = line.trim_end().strip_suffix(exe)?;
            if perms != "r-xp" || !path.ends_with(' ') {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            (end > start).then_some((start, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_binarys_code_is_released() {
        let maps = "\
00400000-00600000 r--p 00000000 08:01 42 /usr/bin/ipft
00600000-04000000 r-xp 00200000 08:01 42 /usr/bin/ipft
04000000-05000000 r--p 03c00000 08:01 42 /usr/bin/ipft
05000000-05100000 rw-p 04c00000 08:01 42 /usr/bin/ipft
7f0000000000-7f0000100000 r-xp 00000000 08:01 43 /usr/lib/other.so
7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0 [vdso]
7ffe00000000-7ffe00001000 r-xp 00000000 08:01 44 /opt/my tools/usr/bin/ipft
";
        assert_eq!(
            code_mappings(maps, "/usr/bin/ipft"),
            [(0x0060_0000, 0x0400_0000)]
        );
        assert!(code_mappings(maps, "/usr/bin/ipf").is_empty());
        assert_eq!(
            code_mappings(maps, "/opt/my tools/usr/bin/ipft"),
            [(0x7ffe_0000_0000, 0x7ffe_0000_1000)]
        );
    }

    #[test]
    fn releasing_keeps_the_process_working() {
        release_startup();
        assert_eq!(format!("{}", 6 * 7), "42");
    }
}
