//! # Kernel symbols
//!
//! `/proc/kallsyms` (addresses and module names of text symbols) and the
//! ftrace list of traceable functions, `available_filter_functions`, with the
//! fallback ipft uses where that list is unreadable.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use anyhow::{Context, Result};

/// Where a kernel function lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub addr: u64,
    /// `vmlinux` for the core kernel, else the module name (shared: there
    /// are a few hundred modules and a few hundred thousand symbols).
    pub module: Arc<str>,
}

/// Text symbols of `/proc/kallsyms`.
#[derive(Debug, Default)]
pub struct Kallsyms {
    /// Name → symbol; the last entry of a name wins (as in ipftrace2).
    by_name: FxHashMap<String, Symbol>,
}

/// Addresses below this are user space on x86_64.
const KERNEL_ADDR_MIN: u64 = 0x00ff_ffff_ffff_ffff;

impl Kallsyms {
    pub fn read() -> Result<Kallsyms> {
        Ok(Self::parse(&read_text()?))
    }

    /// Parses kallsyms text: `<hex addr> <type> <name>[\t[module]]`.
    pub fn parse(text: &str) -> Kallsyms {
        Self::parse_only(text, None)
    }

    /// Parses the text symbols named in `wanted` (every one with `None`):
    /// discovery needs a few thousand of the hundreds of thousands.
    pub fn parse_only(text: &str, wanted: Option<&FxHashSet<&str>>) -> Kallsyms {
        let mut by_name = FxHashMap::default();
        if let Some(wanted) = wanted {
            by_name.reserve(wanted.len());
        }
        let mut modules: HashMap<&str, Arc<str>> = HashMap::new();
        // `<hex addr> <type> <name>[\t[module]]`, split by hand: this runs
        // for every one of the hundreds of thousands of lines.
        for line in text.lines() {
            let Some((addr, rest)) = line.split_once(' ') else {
                continue;
            };
            let Some((kind, rest)) = rest.split_once(' ') else {
                continue;
            };
            if !matches!(kind, "t" | "T" | "w" | "W") {
                continue;
            }
            let (name, module) = match rest.split_once('\t') {
                Some((name, module)) => (name, Some(module.trim())),
                None => (rest.trim_end(), None),
            };
            if name.is_empty() || wanted.is_some_and(|w| !w.contains(name)) {
                continue;
            }
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            let module = match module {
                Some(m) => m
                    .strip_prefix('[')
                    .and_then(|m| m.strip_suffix(']'))
                    .unwrap_or("(unknown)"),
                None => "vmlinux",
            };
            let module = modules
                .entry(module)
                .or_insert_with(|| module.into())
                .clone();
            by_name.insert(name.to_string(), Symbol { addr, module });
        }
        Kallsyms { by_name }
    }

    pub fn get(&self, name: &str) -> Option<&Symbol> {
        self.by_name.get(name)
    }

    /// True when kallsyms shows real addresses (kptr_restrict lets us see them).
    pub fn has_addresses(&self) -> bool {
        self.by_name.values().any(|s| s.addr > KERNEL_ADDR_MIN)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// (address, name) of every text symbol.
    pub fn addresses(&self) -> impl Iterator<Item = (u64, &str)> {
        self.by_name.iter().map(|(n, s)| (s.addr, n.as_str()))
    }
}

/// The text of `/proc/kallsyms`.
pub fn read_text() -> Result<String> {
    std::fs::read_to_string("/proc/kallsyms")
        .context("failed to read /proc/kallsyms: ipft needs procfs mounted")
}

/// The names in `available_filter_functions` text: `name[ [module]]` per line.
pub fn filter_function_names(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|l| l.split_ascii_whitespace().next())
}

/// Where the set of traceable functions came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceableSource {
    FilterFunctions(String),
    /// The list was unreadable (the reason is kept for `-v`); every kallsyms
    /// text symbol is taken as a candidate and failures show at attach time.
    Kallsyms(String),
}

/// Reads the ftrace list of traceable functions in `tracefs`: (path, text).
pub fn read_filter_functions(tracefs: Option<&Path>) -> Result<(String, String)> {
    let dir = tracefs.context("no tracefs or debugfs mounted")?;
    let path = dir.join("available_filter_functions");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    Ok((path.display().to_string(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
ffffffff81000000 T _stext
ffffffff81a2b3c0 T ip_rcv
ffffffff82000000 D some_data
ffffffff81a2b3c0 t ip_rcv_alias
ffffffffc0001000 t veth_xmit\t[veth]
ffffffffc0002000 t broken\t[veth
ffffffff81000010 t dup
ffffffff81000020 t dup
";

    #[test]
    fn parses_text_symbols_with_modules() {
        let k = Kallsyms::parse(SAMPLE);
        assert_eq!(
            k.get("ip_rcv"),
            Some(&Symbol {
                addr: 0xffffffff81a2b3c0,
                module: Arc::from("vmlinux")
            })
        );
        assert_eq!(&*k.get("veth_xmit").unwrap().module, "veth");
        assert_eq!(&*k.get("broken").unwrap().module, "(unknown)");
        assert!(k.get("some_data").is_none(), "data symbols are skipped");
        assert_eq!(
            k.get("dup").unwrap().addr,
            0xffffffff81000020,
            "last entry wins"
        );
        assert!(k.has_addresses());
    }

    #[test]
    fn parses_only_the_wanted_symbols() {
        let wanted: FxHashSet<&str> = ["ip_rcv", "veth_xmit", "some_data"].into_iter().collect();
        let k = Kallsyms::parse_only(SAMPLE, Some(&wanted));
        assert_eq!(k.get("ip_rcv").unwrap().addr, 0xffffffff81a2b3c0);
        assert_eq!(&*k.get("veth_xmit").unwrap().module, "veth");
        assert!(k.get("dup").is_none() && k.get("_stext").is_none());
        assert!(k.get("some_data").is_none(), "still text symbols only");
        assert_eq!(k.names().count(), 2);
    }

    #[test]
    fn hidden_addresses_are_detected() {
        let k = Kallsyms::parse("0000000000000000 T ip_rcv\n");
        assert!(!k.has_addresses());
    }

    #[test]
    fn parses_filter_functions() {
        let names: Vec<_> = filter_function_names("ip_rcv\nveth_xmit [veth]\n\n").collect();
        assert_eq!(names, ["ip_rcv", "veth_xmit"]);
    }

    #[test]
    fn reads_running_kernel_kallsyms() {
        let k = Kallsyms::read().unwrap();
        let n = k.names().count();
        assert!(n > 1000, "kallsyms has {n} text symbols");
    }
}
