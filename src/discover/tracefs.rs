//! # tracefs
//!
//! Finds the kernel's tracing directory (tracefs at `/sys/kernel/tracing`, or
//! `tracing/` inside debugfs), mounting tracefs or debugfs when neither is
//! mounted (and unmounting it again once discovery is done), and reads
//! tracepoint categories from its `available_events` list.

use std::collections::HashMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS: &str = "/sys/kernel/debug";

fn looks_mounted(dir: &Path) -> bool {
    dir.join("events").is_dir() || dir.join("available_events").exists()
}

fn mount(fstype: &str, target: &str) -> std::io::Result<()> {
    let src = CString::new("nodev").unwrap();
    let fs = CString::new(fstype).unwrap();
    let dst = CString::new(target).unwrap();
    // SAFETY: all pointers are valid NUL-terminated strings for the call's duration.
    let rc = unsafe { libc::mount(src.as_ptr(), dst.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The tracing directory; what ipft mounted to reach it is unmounted on drop.
pub struct Tracing {
    path: PathBuf,
    mounted: Option<&'static str>,
}

impl std::ops::Deref for Tracing {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        let Some(target) = self.mounted else { return };
        let dst = CString::new(target).unwrap();
        // SAFETY: a valid NUL-terminated path; MNT_DETACH never blocks.
        if unsafe { libc::umount2(dst.as_ptr(), libc::MNT_DETACH) } == 0 {
            log::debug!("unmounted {target} again");
        } else {
            log::debug!(
                "cannot unmount {target}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// The tracing directory, mounting tracefs (then debugfs) if none is mounted.
/// `None` when there is none and mounting failed (reasons go to the debug log).
pub fn tracing_dir() -> Option<Tracing> {
    let tracefs = PathBuf::from(TRACEFS);
    let debug_tracing = Path::new(DEBUGFS).join("tracing");
    for dir in [&tracefs, &debug_tracing] {
        if looks_mounted(dir) {
            return Some(Tracing {
                path: dir.clone(),
                mounted: None,
            });
        }
    }
    match mount("tracefs", TRACEFS) {
        Ok(()) if looks_mounted(&tracefs) => {
            log::debug!("mounted tracefs at {TRACEFS}");
            return Some(Tracing {
                path: tracefs,
                mounted: Some(TRACEFS),
            });
        }
        Ok(()) => drop(Tracing {
            path: tracefs,
            mounted: Some(TRACEFS),
        }),
        Err(e) => log::debug!("cannot mount tracefs at {TRACEFS}: {e}"),
    }
    match mount("debugfs", DEBUGFS) {
        Ok(()) => {
            let found = Tracing {
                path: debug_tracing,
                mounted: Some(DEBUGFS),
            };
            if looks_mounted(&found) {
                log::debug!("mounted debugfs at {DEBUGFS}");
                Some(found)
            } else {
                None
            }
        }
        Err(e) => {
            log::debug!("cannot mount debugfs at {DEBUGFS}: {e}");
            None
        }
    }
}

/// Tracepoint name → category, from `available_events` (`<category>:<name>`
/// lines): one small read, where walking `events/` makes the kernel build
/// thousands of directory entries. The walk is the fallback.
pub fn tracepoint_categories(tracing: &Path) -> HashMap<String, String> {
    match std::fs::read_to_string(tracing.join("available_events")) {
        Ok(text) => parse_available_events(&text),
        Err(e) => {
            log::debug!("available_events unreadable ({e}): listing events/ instead");
            walk_events(tracing)
        }
    }
}

fn parse_available_events(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .map(|(category, name)| (name.to_string(), category.to_string()))
        .collect()
}

/// Tracepoint name → category (`events/<category>/<name>`).
fn walk_events(tracing: &Path) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let Ok(cats) = std::fs::read_dir(tracing.join("events")) else {
        return map;
    };
    for cat in cats.flatten() {
        let Ok(events) = std::fs::read_dir(cat.path()) else {
            continue;
        };
        let cat_name = cat.file_name().to_string_lossy().into_owned();
        for ev in events.flatten() {
            // The entry's own type (no stat per event: there are thousands).
            if ev.file_type().is_ok_and(|t| t.is_dir()) {
                map.insert(
                    ev.file_name().to_string_lossy().into_owned(),
                    cat_name.clone(),
                );
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_events_lines_give_name_to_category() {
        let map = parse_available_events("skb:kfree_skb\nnet:netif_receive_skb\n\nbogus\n");
        assert_eq!(map.get("kfree_skb").map(String::as_str), Some("skb"));
        assert_eq!(
            map.get("netif_receive_skb").map(String::as_str),
            Some("net")
        );
        assert_eq!(map.len(), 2);
    }
}
