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
        read_all()
    }

    /// Parses kallsyms text: `<hex addr> <type> <name>[\t[module]]`.
    pub fn parse(text: &str) -> Kallsyms {
        Self::parse_only(text, None)
    }

    /// Parses the text symbols named in `wanted` (every one with `None`):
    /// discovery needs a few thousand of the hundreds of thousands.
    pub fn parse_only(text: &str, wanted: Option<&FxHashSet<&str>>) -> Kallsyms {
        let mut parser = Parser::new(wanted);
        parser.feed(text.as_bytes());
        parser.finish()
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

/// Builds [`Kallsyms`] from text fed in pieces of whole lines, so parsing
/// can keep up with the kernel formatting the rest.
pub struct Parser<'w> {
    /// The names asked for, as bytes: a line's name is looked up before
    /// anything else, without UTF-8 validation (most are not wanted).
    wanted: Option<FxHashSet<&'w [u8]>>,
    by_name: FxHashMap<String, Symbol>,
    modules: HashMap<Vec<u8>, Arc<str>>,
}

impl<'w> Parser<'w> {
    pub fn new(wanted: Option<&'w FxHashSet<&'w str>>) -> Parser<'w> {
        let mut by_name = FxHashMap::default();
        if let Some(wanted) = wanted {
            by_name.reserve(wanted.len());
        }
        Parser {
            wanted: wanted.map(|w| w.iter().map(|n| n.as_bytes()).collect()),
            by_name,
            modules: HashMap::new(),
        }
    }

    /// Parses whole lines (a last line without its newline counts as whole).
    pub fn feed(&mut self, text: &[u8]) {
        let mut rest = text;
        while !rest.is_empty() {
            let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            self.line(&rest[..end]);
            rest = rest.get(end + 1..).unwrap_or_default();
        }
    }

    /// One `<hex addr> <type> <name>[\t[module]]` line, split by hand: this
    /// runs for every one of the hundreds of thousands of lines.
    fn line(&mut self, line: &[u8]) {
        let Some(space) = memchr::memchr(b' ', line) else {
            return;
        };
        let (addr, rest) = (&line[..space], &line[space + 1..]);
        // The type is one letter: text (t/T) or weak (w/W) symbols only.
        match rest {
            [b't' | b'T' | b'w' | b'W', b' ', ..] => {}
            _ => return,
        }
        let rest = &rest[2..];
        let (name, module) = match memchr::memchr(b'\t', rest) {
            Some(tab) => (&rest[..tab], Some(rest[tab + 1..].trim_ascii())),
            None => (rest.trim_ascii_end(), None),
        };
        if name.is_empty() || self.wanted.as_ref().is_some_and(|w| !w.contains(name)) {
            return;
        }
        let Ok(name) = std::str::from_utf8(name) else {
            return;
        };
        let Some(addr) = std::str::from_utf8(addr)
            .ok()
            .and_then(|a| u64::from_str_radix(a, 16).ok())
        else {
            return;
        };
        let module: &[u8] = match module {
            Some(m) => m
                .strip_prefix(b"[")
                .and_then(|m| m.strip_suffix(b"]"))
                .unwrap_or(b"(unknown)"),
            None => b"vmlinux",
        };
        let module = match self.modules.get(module) {
            Some(m) => m.clone(),
            None => {
                let shared: Arc<str> = String::from_utf8_lossy(module).into();
                self.modules.insert(module.to_vec(), shared.clone());
                shared
            }
        };
        self.by_name
            .insert(name.to_string(), Symbol { addr, module });
    }

    /// Reads and parses `/proc/kallsyms` here, piece by piece.
    pub fn read_kallsyms(&mut self) -> Result<()> {
        read_chunks(&mut |chunk| {
            self.feed(&chunk);
            true
        })
    }

    pub fn finish(self) -> Kallsyms {
        Kallsyms {
            by_name: self.by_name,
        }
    }
}

const KALLSYMS: &str = "/proc/kallsyms";

/// Reads `/proc/kallsyms` in pieces of whole lines, handing each to `sink`
/// as it comes (`sink` returns false to stop).
pub fn read_chunks(sink: &mut dyn FnMut(Vec<u8>) -> bool) -> Result<()> {
    use std::io::Read;
    /// Large enough that the kernel fills each read with thousands of lines.
    const CHUNK: usize = 256 << 10;
    let failed = || format!("failed to read {KALLSYMS}: ipft needs procfs mounted");
    let mut file = std::fs::File::open(KALLSYMS).with_context(failed)?;
    let mut carry = Vec::new();
    loop {
        // Each read gives a page or so: fill a piece before handing it on.
        let mut buf = Vec::with_capacity(carry.len() + CHUNK);
        buf.append(&mut carry);
        // Into the spare capacity: nothing is zeroed first.
        let read = (&mut file)
            .take(CHUNK as u64)
            .read_to_end(&mut buf)
            .with_context(failed)?;
        let at_end = read < CHUNK;
        if at_end {
            if !buf.is_empty() {
                sink(buf);
            }
            return Ok(());
        }
        if let Some(last) = memchr::memrchr(b'\n', &buf) {
            carry = buf.split_off(last + 1);
            if !sink(buf) {
                return Ok(());
            }
        } else {
            carry = buf; // one line longer than a piece: read on
        }
    }
}

/// Every text symbol of `/proc/kallsyms`.
fn read_all() -> Result<Kallsyms> {
    let mut parser = Parser::new(None);
    parser.read_kallsyms()?;
    Ok(parser.finish())
}

/// The names in `available_filter_functions` text: `name[ [module]]` per line.
pub fn filter_function_names(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|l| l.split_ascii_whitespace().next())
}

/// Where the set of traceable functions came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    fn lines_fed_in_pieces_parse_as_a_whole() {
        let mut parser = Parser::new(None);
        let (a, b) = SAMPLE.split_at(SAMPLE.find("veth_xmit").unwrap() + 4);
        let cut = a.rfind('\n').unwrap() + 1;
        parser.feed(&a.as_bytes()[..cut]);
        parser.feed(format!("{}{b}", &a[cut..]).trim_end().as_bytes());
        let pieces = parser.finish();
        let whole = Kallsyms::parse(SAMPLE);
        let sorted = |k: &Kallsyms| {
            let mut v: Vec<_> = k.addresses().map(|(a, n)| (a, n.to_string())).collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&pieces), sorted(&whole));
        assert_eq!(&*pieces.get("veth_xmit").unwrap().module, "veth");
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
