//! # BTF reader
//!
//! A small reader for the BPF Type Format, as the kernel exposes it in
//! `/sys/kernel/btf/*` and as clang writes it into `.BTF` sections. It parses
//! the whole type table once into plain Rust values, so discovery can scan
//! every function of vmlinux and its modules in a few milliseconds, and the
//! extension decoder can read structs, enums, variables and decl tags.
//!
//! Split BTF (kernel modules) is supported: a split object continues the type
//! ids and string offsets of its base, and lookups fall through to the base.

use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};

const BTF_MAGIC: u16 = 0xeb9f;

/// A BTF type, with the parts of each kind that ipft uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Void,
    Int {
        size: u32,
        encoding: u8,
        offset: u8,
        bits: u8,
    },
    Ptr {
        target: u32,
    },
    Array {
        elem: u32,
        nelems: u32,
    },
    Struct {
        size: u32,
        members: Vec<Member>,
    },
    Union {
        size: u32,
        members: Vec<Member>,
    },
    Enum {
        size: u32,
        signed: bool,
        values: Vec<(u32, i64)>,
    },
    Fwd,
    Typedef {
        target: u32,
    },
    Volatile {
        target: u32,
    },
    Const {
        target: u32,
    },
    Restrict {
        target: u32,
    },
    Func {
        proto: u32,
        linkage: u32,
    },
    FuncProto {
        ret: u32,
        params: Vec<Param>,
    },
    Var {
        target: u32,
        linkage: u32,
    },
    Datasec {
        size: u32,
        vars: Vec<(u32, u32, u32)>,
    },
    Float {
        size: u32,
    },
    DeclTag {
        target: u32,
        component_idx: i32,
    },
    TypeTag {
        target: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Offset of the name in the string table (resolve with [`Btf::str_at`]).
    pub name_off: u32,
    pub type_id: u32,
    pub bit_offset: u32,
    /// Non-zero for bitfields (only when the struct's kind_flag is set).
    pub bitfield_size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name_off: u32,
    pub type_id: u32,
}

#[derive(Debug, Clone)]
pub struct Type {
    pub name_off: u32,
    pub kind: Kind,
}

/// One parsed BTF object, optionally split on top of a base object.
pub struct Btf {
    base: Option<Arc<Btf>>,
    /// First type id of this object (1 for a base object).
    start_id: u32,
    /// First string offset of this object (0 for a base object).
    start_str: u32,
    types: Vec<Type>,
    strings: Vec<u8>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u32(&mut self) -> Result<u32> {
        let bytes = self
            .data
            .get(self.pos..self.pos + 4)
            .context("BTF type section is truncated")?;
        self.pos += 4;
        Ok(u32::from_ne_bytes(bytes.try_into().unwrap()))
    }
}

impl Btf {
    /// Parses a base (stand-alone) BTF object.
    pub fn parse(data: &[u8]) -> Result<Btf> {
        Self::parse_inner(data, None)
    }

    /// Parses split BTF whose ids and strings continue those of `base`.
    pub fn parse_split(data: &[u8], base: Arc<Btf>) -> Result<Btf> {
        Self::parse_inner(data, Some(base))
    }

    fn parse_inner(data: &[u8], base: Option<Arc<Btf>>) -> Result<Btf> {
        ensure!(
            data.len() >= 24,
            "BTF data is too short ({} bytes)",
            data.len()
        );
        let magic = u16::from_ne_bytes([data[0], data[1]]);
        ensure!(
            magic == BTF_MAGIC,
            "bad BTF magic {magic:#x} (not BTF, or foreign byte order)"
        );
        let word = |off: usize| u32::from_ne_bytes(data[off..off + 4].try_into().unwrap()) as usize;
        let hdr_len = word(4);
        let (type_off, type_len, str_off, str_len) = (word(8), word(12), word(16), word(20));
        let body = data
            .get(hdr_len..)
            .context("BTF header length is out of range")?;
        let type_sec = body
            .get(type_off..type_off + type_len)
            .context("BTF type section is out of range")?;
        let strings = body
            .get(str_off..str_off + str_len)
            .context("BTF string section is out of range")?
            .to_vec();
        let (start_id, start_str) = match &base {
            Some(b) => (b.next_id(), b.start_str + b.strings.len() as u32),
            None => (1, 0),
        };
        let mut btf = Btf {
            base,
            start_id,
            start_str,
            types: Vec::new(),
            strings,
        };
        // Records are 12 bytes and more, most of them 16 to 40.
        btf.types.reserve(type_sec.len() / 16);
        let mut cur = Cursor {
            data: type_sec,
            pos: 0,
        };
        while cur.pos < type_sec.len() {
            let ty = parse_type(&mut cur)?;
            btf.types.push(ty);
        }
        Ok(btf)
    }

    /// The id the next object split on this one would start at.
    pub fn next_id(&self) -> u32 {
        self.start_id + self.types.len() as u32
    }

    /// The ids defined by this object itself (not its base).
    pub fn own_ids(&self) -> std::ops::Range<u32> {
        self.start_id..self.next_id()
    }

    pub fn get(&self, id: u32) -> Option<&Type> {
        if id == 0 {
            return Some(&VOID);
        }
        if id < self.start_id {
            return self.base.as_ref()?.get(id);
        }
        self.types.get((id - self.start_id) as usize)
    }

    pub fn kind(&self, id: u32) -> Option<&Kind> {
        self.get(id).map(|t| &t.kind)
    }

    /// A string from the string table, `""` when out of range.
    pub fn str_at(&self, off: u32) -> &str {
        if off < self.start_str {
            return self.base.as_ref().map_or("", |b| b.str_at(off));
        }
        let start = (off - self.start_str) as usize;
        let Some(rest) = self.strings.get(start..) else {
            return "";
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    /// The bytes of the string table from `off` (up to the table's end).
    fn str_bytes_from(&self, off: u32) -> &[u8] {
        if off < self.start_str {
            return self.base.as_ref().map_or(&[], |b| b.str_bytes_from(off));
        }
        self.strings
            .get((off - self.start_str) as usize..)
            .unwrap_or(&[])
    }

    /// Whether the string at `off` starts with `prefix`: no search for its
    /// end, no UTF-8 check (discovery asks this of every type).
    pub fn str_starts_with(&self, off: u32, prefix: &str) -> bool {
        self.str_bytes_from(off).starts_with(prefix.as_bytes())
    }

    /// Whether type `id` is named `name`, as cheaply as the above.
    pub fn name_is(&self, id: u32, name: &str) -> bool {
        self.get(id).is_some_and(|t| {
            let bytes = self.str_bytes_from(t.name_off);
            bytes.starts_with(name.as_bytes()) && bytes.get(name.len()) == Some(&0)
        })
    }

    /// Whether this object has a function of each name, in one pass.
    pub fn has_functions<const N: usize>(&self, names: [&str; N]) -> [bool; N] {
        let mut found = [false; N];
        for id in self.own_ids() {
            let Some(ty) = self.get(id) else { continue };
            if !matches!(ty.kind, Kind::Func { .. }) {
                continue;
            }
            if let Some(i) = names.iter().position(|n| self.name_is(id, n)) {
                found[i] = true;
                if found.iter().all(|&f| f) {
                    break;
                }
            }
        }
        found
    }

    pub fn name(&self, id: u32) -> &str {
        self.get(id).map_or("", |t| self.str_at(t.name_off))
    }

    /// Follows typedefs and qualifiers (const, volatile, restrict, type tags).
    pub fn skip_mods(&self, mut id: u32) -> u32 {
        for _ in 0..64 {
            match self.kind(id) {
                Some(
                    Kind::Typedef { target }
                    | Kind::Volatile { target }
                    | Kind::Const { target }
                    | Kind::Restrict { target }
                    | Kind::TypeTag { target },
                ) => id = *target,
                _ => break,
            }
        }
        id
    }

    /// Size in bytes of a type, following modifiers; `None` for void, functions
    /// and unknown kinds.
    pub fn size_of(&self, id: u32) -> Option<u32> {
        self.size_of_depth(id, 0)
    }

    fn size_of_depth(&self, id: u32, depth: u32) -> Option<u32> {
        if depth > 32 {
            return None; // a malformed, self-referencing array
        }
        let id = self.skip_mods(id);
        match self.kind(id)? {
            Kind::Int { size, .. }
            | Kind::Struct { size, .. }
            | Kind::Union { size, .. }
            | Kind::Enum { size, .. }
            | Kind::Float { size } => Some(*size),
            Kind::Ptr { .. } => Some(8),
            Kind::Array { elem, nelems } => {
                self.size_of_depth(*elem, depth + 1)?.checked_mul(*nelems)
            }
            _ => None,
        }
    }

    /// Ids in this object (base excluded) of the given name.
    pub fn find_own(&self, name: &str, pred: impl Fn(&Kind) -> bool) -> Option<u32> {
        self.own_ids().find(|&id| {
            let t = &self.types[(id - self.start_id) as usize];
            pred(&t.kind) && self.name_is(id, name)
        })
    }
}

static VOID: Type = Type {
    name_off: 0,
    kind: Kind::Void,
};

fn parse_type(cur: &mut Cursor) -> Result<Type> {
    let name_off = cur.u32()?;
    let info = cur.u32()?;
    let size_or_type = cur.u32()?;
    let vlen = info & 0xffff;
    let kind_nr = (info >> 24) & 0x1f;
    let kind_flag = info >> 31 != 0;
    let kind = match kind_nr {
        1 => {
            let data = cur.u32()?;
            Kind::Int {
                size: size_or_type,
                encoding: ((data >> 24) & 0x0f) as u8,
                offset: ((data >> 16) & 0xff) as u8,
                bits: (data & 0xff) as u8,
            }
        }
        2 => Kind::Ptr {
            target: size_or_type,
        },
        3 => {
            let elem = cur.u32()?;
            let _index = cur.u32()?;
            let nelems = cur.u32()?;
            Kind::Array { elem, nelems }
        }
        4 | 5 => {
            let mut members = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                let name_off = cur.u32()?;
                let type_id = cur.u32()?;
                let offset = cur.u32()?;
                let (bit_offset, bitfield_size) = if kind_flag {
                    (offset & 0x00ff_ffff, offset >> 24)
                } else {
                    (offset, 0)
                };
                members.push(Member {
                    name_off,
                    type_id,
                    bit_offset,
                    bitfield_size,
                });
            }
            if kind_nr == 4 {
                Kind::Struct {
                    size: size_or_type,
                    members,
                }
            } else {
                Kind::Union {
                    size: size_or_type,
                    members,
                }
            }
        }
        6 => {
            let mut values = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                let name_off = cur.u32()?;
                let raw = cur.u32()?;
                let val = if kind_flag {
                    raw as i32 as i64
                } else {
                    raw as i64
                };
                values.push((name_off, val));
            }
            Kind::Enum {
                size: size_or_type,
                signed: kind_flag,
                values,
            }
        }
        7 => Kind::Fwd,
        8 => Kind::Typedef {
            target: size_or_type,
        },
        9 => Kind::Volatile {
            target: size_or_type,
        },
        10 => Kind::Const {
            target: size_or_type,
        },
        11 => Kind::Restrict {
            target: size_or_type,
        },
        12 => Kind::Func {
            proto: size_or_type,
            linkage: vlen,
        },
        13 => {
            let mut params = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                let name_off = cur.u32()?;
                let type_id = cur.u32()?;
                params.push(Param { name_off, type_id });
            }
            Kind::FuncProto {
                ret: size_or_type,
                params,
            }
        }
        14 => Kind::Var {
            target: size_or_type,
            linkage: cur.u32()?,
        },
        15 => {
            let mut vars = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                vars.push((cur.u32()?, cur.u32()?, cur.u32()?));
            }
            Kind::Datasec {
                size: size_or_type,
                vars,
            }
        }
        16 => Kind::Float { size: size_or_type },
        17 => Kind::DeclTag {
            target: size_or_type,
            component_idx: cur.u32()? as i32,
        },
        18 => Kind::TypeTag {
            target: size_or_type,
        },
        19 => {
            let mut values = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                let name_off = cur.u32()?;
                let lo = cur.u32()? as u64;
                let hi = cur.u32()? as u64;
                values.push((name_off, ((hi << 32) | lo) as i64));
            }
            Kind::Enum {
                size: size_or_type,
                signed: kind_flag,
                values,
            }
        }
        other => bail!("unknown BTF kind {other}"),
    };
    Ok(Type { name_off, kind })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a tiny BTF blob: int, struct sk_buff, ptr, const ptr, func proto, func.
    pub(crate) fn sample() -> Vec<u8> {
        let strings = b"\0int\0sk_buff\0skb\0f\0mark\0".to_vec();
        let mut types: Vec<u32> = Vec::new();
        // [1] int: name "int"(1), kind 1, size 4, encoding signed 32 bits
        types.extend([1, 1 << 24, 4, (1 << 24) | 32]);
        // [2] struct sk_buff { int mark; } size 4
        types.extend([5, (4 << 24) | 1, 4, 19, 1, 0]);
        // [3] ptr -> 2
        types.extend([0, 2 << 24, 2]);
        // [4] const -> 3
        types.extend([0, 10 << 24, 3]);
        // [5] func_proto (int, const struct sk_buff *skb) -> int
        types.extend([0, (13 << 24) | 2, 1, 0, 1, 13, 4]);
        // [6] func "f" -> 5
        types.extend([17, (12 << 24) | 1, 5]);
        let type_bytes: Vec<u8> = types.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let mut out = Vec::new();
        out.extend(BTF_MAGIC.to_ne_bytes());
        out.extend([1u8, 0]);
        for w in [
            24u32,
            0,
            type_bytes.len() as u32,
            type_bytes.len() as u32,
            strings.len() as u32,
        ] {
            out.extend(w.to_ne_bytes());
        }
        out.extend(type_bytes);
        out.extend(strings);
        out
    }

    #[test]
    fn parses_types_and_names() {
        let btf = Btf::parse(&sample()).unwrap();
        assert_eq!(btf.own_ids(), 1..7);
        assert_eq!(btf.name(2), "sk_buff");
        assert_eq!(btf.name(6), "f");
        assert_eq!(btf.skip_mods(4), 3);
        assert_eq!(btf.size_of(2), Some(4));
        let Some(Kind::FuncProto { params, .. }) = btf.kind(5) else {
            panic!()
        };
        assert_eq!(btf.str_at(params[1].name_off), "skb");
    }

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(b"not btf at all, not at all!!").is_err());
        let mut truncated = sample();
        truncated.truncate(40);
        assert!(Btf::parse(&truncated).is_err());
    }

    #[test]
    fn parses_running_kernel_btf() {
        let path = "/sys/kernel/btf/vmlinux";
        if std::fs::metadata(path).is_err() {
            eprintln!("SKIP parses_running_kernel_btf: {path} missing");
            return;
        }
        let btf = Btf::parse(&std::fs::read(path).unwrap()).unwrap();
        assert!(btf
            .find_own("sk_buff", |k| matches!(k, Kind::Struct { .. }))
            .is_some());
    }
}
