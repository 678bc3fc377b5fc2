//! # Extension payload decoding
//!
//! Reads an extension object's BTF once and turns the struct it tagged with
//! `__ipft_event_struct` into a list of field readers for the 64-byte data
//! area: one per member, in declaration order, each with a printer chosen by
//! the member's type and its `ipft:fmt:*` decl tag (`hex`, `enum:<ref>`,
//! `enum_flags:<ref>`, where `<ref>` names a variable of an enum type).

use std::fmt;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::btf::{Btf, Kind};
use crate::event::model::{Field, Value, RESERVED_KEYS};
use crate::event::raw::DATA_SIZE;

const EVENT_STRUCT_VAR: &str = "__ipft_event_struct";
const TAG_PREFIX: &str = "ipft:fmt:";

/// BTF integer encoding bits.
const INT_SIGNED: u8 = 1 << 0;
const INT_CHAR: u8 = 1 << 1;
const INT_BOOL: u8 = 1 << 2;

/// An enum's enumerators: (name, value), in declaration order.
type Enumerators = Vec<(String, i64)>;

/// How a member's bytes are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Layout {
    Int {
        size: usize,
        signed: bool,
        char: bool,
        boolean: bool,
    },
    /// A member whose type is an enum: printed by name by default.
    Enum {
        size: usize,
        signed: bool,
        values: Vec<(String, i64)>,
    },
    Ptr,
    /// `char[N]`: a NUL-terminated string.
    Chars(usize),
    /// `__u8[N]` (and other byte arrays): hex bytes.
    Bytes(usize),
}

impl Layout {
    fn size(&self) -> usize {
        match self {
            Layout::Int { size, .. } | Layout::Enum { size, .. } => *size,
            Layout::Ptr => 8,
            Layout::Chars(n) | Layout::Bytes(n) => *n,
        }
    }

    fn is_integer(&self) -> bool {
        matches!(self, Layout::Int { .. } | Layout::Enum { .. })
    }

    fn btf_kind(&self) -> &'static str {
        match self {
            Layout::Int { .. } => "INT",
            Layout::Enum { .. } => "ENUM",
            Layout::Ptr => "PTR",
            Layout::Chars(_) | Layout::Bytes(_) => "ARRAY",
        }
    }
}

/// The printer a decl tag asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Format {
    Default,
    Hex,
    Enum(Enumerators),
    Flags(Enumerators),
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Default => "default",
            Format::Hex => "hex",
            Format::Enum(_) => "enum",
            Format::Flags(_) => "enum_flags",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FieldSpec {
    name: Arc<str>,
    offset: usize,
    layout: Layout,
    format: Format,
}

/// Decodes the extension's 64 bytes of every event. Serializable: the
/// events file carries it, so reading needs no extension object.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Decoder {
    fields: Vec<FieldSpec>,
}

fn enum_values(btf: &Btf, id: u32) -> Option<(usize, bool, Enumerators)> {
    match btf.kind(id)? {
        Kind::Enum {
            size,
            signed,
            values,
        } => Some((
            *size as usize,
            *signed,
            values
                .iter()
                .map(|(n, v)| (btf.str_at(*n).to_string(), *v))
                .collect(),
        )),
        _ => None,
    }
}

fn layout_of(btf: &Btf, member: &str, type_id: u32) -> Result<Layout> {
    let id = btf.skip_mods(type_id);
    match btf.kind(id) {
        Some(Kind::Int {
            size,
            encoding,
            bits,
            offset,
        }) => {
            if *offset != 0 || (*bits as u32) != size * 8 || !matches!(size, 1 | 2 | 4 | 8) {
                bail!("member '{member}': {size}-byte integers of {bits} bits are not supported");
            }
            Ok(Layout::Int {
                size: *size as usize,
                signed: encoding & INT_SIGNED != 0,
                // clang encodes plain `char` as a signed 8-bit int, not CHAR.
                char: *size == 1 && (encoding & INT_CHAR != 0 || btf.name(id) == "char"),
                boolean: encoding & INT_BOOL != 0,
            })
        }
        Some(Kind::Enum { .. }) => {
            let (size, signed, values) = enum_values(btf, id).unwrap();
            if !matches!(size, 1 | 2 | 4 | 8) {
                bail!("member '{member}': {size}-byte enums are not supported");
            }
            Ok(Layout::Enum {
                size,
                signed,
                values,
            })
        }
        Some(Kind::Ptr { .. }) => Ok(Layout::Ptr),
        Some(Kind::Array { elem, nelems }) => {
            let elem_id = btf.skip_mods(*elem);
            match btf.kind(elem_id) {
                Some(Kind::Int {
                    size: 1, encoding, ..
                }) => {
                    let is_char = encoding & INT_CHAR != 0 || btf.name(elem_id) == "char";
                    Ok(if is_char {
                        Layout::Chars(*nelems as usize)
                    } else {
                        Layout::Bytes(*nelems as usize)
                    })
                }
                _ => bail!(
                    "member '{member}': only arrays of char or of 8-bit integers are supported"
                ),
            }
        }
        Some(Kind::Struct { .. } | Kind::Union { .. }) => {
            bail!("member '{member}': nested structs and unions are not supported; flatten the payload")
        }
        Some(Kind::Float { .. }) => {
            bail!("member '{member}': floating point members are not supported")
        }
        _ => bail!("member '{member}': unsupported type (BTF id {type_id})"),
    }
}

/// Finds the enum an `enum:<ref>` tag names: a variable of an enum type.
fn enum_ref(btf: &Btf, member: &str, reference: &str) -> Result<Enumerators> {
    let var = btf
        .find_own(reference, |k| matches!(k, Kind::Var { .. }))
        .with_context(|| {
            format!(
                "member '{member}': enum reference '{reference}' not found: declare it with `enum my_enum __ipft_ref({reference});`"
            )
        })?;
    let Some(Kind::Var { target, .. }) = btf.kind(var) else {
        unreachable!()
    };
    enum_values(btf, btf.skip_mods(*target))
        .map(|(_, _, values)| values)
        .with_context(|| {
            format!("member '{member}': '{reference}' is not a variable of an enum type")
        })
}

impl Decoder {
    /// Builds the decoder from an extension object's BTF.
    pub fn from_btf(btf: &Btf) -> Result<Decoder> {
        let var = btf
            .find_own(EVENT_STRUCT_VAR, |k| matches!(k, Kind::Var { .. }))
            .context(
                "extension has no __ipft_event_struct: tag the payload struct with it, as in `ipft --gen bpf-module-skeleton`",
            )?;
        let Some(Kind::Var {
            target: struct_id, ..
        }) = btf.kind(var)
        else {
            unreachable!()
        };
        let struct_id = *struct_id;
        let Some(Kind::Struct { size, members }) = btf.kind(struct_id) else {
            bail!("__ipft_event_struct must be declared with a struct type (`struct event {{ ... }} __ipft_event_struct;`), not a typedef or other type");
        };
        if *size as usize > DATA_SIZE {
            bail!("the __ipft_event_struct payload is {size} bytes; it must fit in the {DATA_SIZE}-byte data area");
        }
        let mut fields = Vec::with_capacity(members.len());
        for m in members {
            let name = btf.str_at(m.name_off);
            if name.is_empty() {
                bail!("anonymous members are not supported in __ipft_event_struct");
            }
            if m.bitfield_size != 0 || m.bit_offset % 8 != 0 {
                bail!("member '{name}' is a bitfield; ipft reads whole bytes");
            }
            if RESERVED_KEYS.contains(&name) {
                bail!(
                    "member '{name}' has the name of one of ipft's own JSON keys ({}): rename it",
                    RESERVED_KEYS.join(", ")
                );
            }
            let layout = layout_of(btf, name, m.type_id)?;
            let offset = (m.bit_offset / 8) as usize;
            if offset + layout.size() > DATA_SIZE {
                bail!(
                    "member '{name}' ends at byte {}, past the {DATA_SIZE}-byte data area",
                    offset + layout.size()
                );
            }
            fields.push(FieldSpec {
                name: Arc::from(name),
                offset,
                layout,
                format: Format::Default,
            });
        }
        for id in btf.own_ids() {
            let Some(Kind::DeclTag {
                target,
                component_idx,
            }) = btf.kind(id)
            else {
                continue;
            };
            let Some(spec) = btf.name(id).strip_prefix(TAG_PREFIX) else {
                continue;
            };
            // Only tags on the event struct's members count (ipftrace2 applied
            // a tag on any struct to the event struct member with that index).
            if *target != struct_id || *component_idx < 0 {
                continue;
            }
            let field = fields
                .get_mut(*component_idx as usize)
                .with_context(|| format!("decl tag '{TAG_PREFIX}{spec}' names member #{component_idx}, which does not exist"))?;
            let format = if spec == "hex" {
                Format::Hex
            } else if let Some(r) = spec.strip_prefix("enum_flags:") {
                Format::Flags(enum_ref(btf, &field.name, r)?)
            } else if let Some(r) = spec.strip_prefix("enum:") {
                Format::Enum(enum_ref(btf, &field.name, r)?)
            } else {
                bail!(
                    "member '{}': unknown format tag '{TAG_PREFIX}{spec}' (known: hex, enum:<ref>, enum_flags:<ref>)",
                    field.name
                );
            };
            if !field.layout.is_integer() {
                bail!(
                    "member '{}': the {format} format needs an integer member, not {}",
                    field.name,
                    field.layout.btf_kind()
                );
            }
            field.format = format;
        }
        Ok(Decoder { fields })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The members' names (their keys in the output).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| &*f.name)
    }

    /// The `-v` table of members and printers.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec!["======== BTF Printer Insns ========".to_string()];
        for (i, f) in self.fields.iter().enumerate() {
            lines.push(format!(
                "[{i}] key: {} kind: {} formatter: {}",
                f.name,
                f.layout.btf_kind(),
                f.format
            ));
        }
        lines.push("======= END BTF Printer Insns ======".to_string());
        lines
    }

    /// Decodes one event's data area.
    pub fn decode(&self, data: &[u8; DATA_SIZE]) -> Vec<Field> {
        self.fields
            .iter()
            .map(|f| Field {
                name: f.name.clone(),
                value: f.value(data),
            })
            .collect()
    }
}

fn read_uint(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    u64::from_ne_bytes(buf)
}

fn sign_extend(v: u64, size: usize) -> i64 {
    let shift = 64 - size * 8;
    ((v << shift) as i64) >> shift
}

fn truncate(v: i64, size: usize) -> u64 {
    if size == 8 {
        v as u64
    } else {
        (v as u64) & ((1u64 << (size * 8)) - 1)
    }
}

fn enum_name(values: &[(String, i64)], raw: u64, size: usize) -> String {
    values
        .iter()
        .find(|(_, v)| truncate(*v, size) == raw)
        .map_or_else(|| "<none>".to_string(), |(n, _)| n.clone())
}

impl FieldSpec {
    fn value(&self, data: &[u8; DATA_SIZE]) -> Value {
        let bytes = &data[self.offset..self.offset + self.layout.size()];
        let size = bytes.len();
        let raw = if size <= 8 { read_uint(bytes) } else { 0 };
        match (&self.format, &self.layout) {
            (Format::Hex, _) => Value::Hex(raw),
            (Format::Enum(values), _) => Value::Enum(enum_name(values, raw, size)),
            (Format::Flags(values), _) => Value::Flags(
                values
                    .iter()
                    .filter(|(_, v)| truncate(*v, size) & raw != 0)
                    .map(|(n, _)| n.clone())
                    .collect(),
            ),
            (Format::Default, Layout::Int { boolean: true, .. }) => Value::Bool(raw != 0),
            (Format::Default, Layout::Int { char: true, .. }) => Value::Char(raw as u8 as char),
            (
                Format::Default,
                Layout::Int {
                    signed: true, size, ..
                },
            ) => Value::Signed(sign_extend(raw, *size)),
            (Format::Default, Layout::Int { .. }) => Value::Unsigned(raw),
            (Format::Default, Layout::Enum { values, .. }) => {
                Value::Enum(enum_name(values, raw, size))
            }
            (Format::Default, Layout::Ptr) => Value::Pointer(raw),
            (Format::Default, Layout::Chars(_)) => {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(size);
                Value::Str(String::from_utf8_lossy(&bytes[..end]).into_owned())
            }
            (Format::Default, Layout::Bytes(_)) => Value::Bytes(bytes.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_extension_and_truncation() {
        assert_eq!(sign_extend(0xff, 1), -1);
        assert_eq!(sign_extend(0x7f, 1), 127);
        assert_eq!(sign_extend(0xffff_fffe, 4), -2);
        assert_eq!(truncate(-1, 2), 0xffff);
        assert_eq!(truncate(-1, 8), u64::MAX);
    }

    #[test]
    fn enum_lookup_and_flags() {
        let values = vec![
            ("tcpv4".to_string(), 1),
            ("dodgy".to_string(), 2),
            ("ipxip4".to_string(), 0x100),
        ];
        assert_eq!(enum_name(&values, 2, 4), "dodgy");
        assert_eq!(enum_name(&values, 3, 4), "<none>");
        let spec = FieldSpec {
            name: "t".into(),
            offset: 0,
            layout: Layout::Int {
                size: 4,
                signed: false,
                char: false,
                boolean: false,
            },
            format: Format::Flags(values),
        };
        let mut data = [0u8; DATA_SIZE];
        data[..4].copy_from_slice(&0x102u32.to_ne_bytes());
        assert_eq!(
            spec.value(&data).to_string(),
            "dodgy|ipxip4",
            "never starts with |"
        );
        data[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(spec.value(&data).to_string(), "<none>");
    }
}
