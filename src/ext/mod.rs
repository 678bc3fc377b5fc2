//! # Extensions
//!
//! A user's BPF object that fills the 64-byte data area of every event
//! through `int module(void *ctx, struct sk_buff *skb, __u8 data[64])`,
//! and describes those bytes with a struct tagged `__ipft_event_struct`
//! ([`decode`]). This module reads and checks the object; linking happens
//! in `load::link`, like the built-in null module.

pub mod decode;
pub mod lua;

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::btf::{Btf, Kind};
use crate::load;
pub use decode::Decoder;

/// `--gen bpf-module-header`: the header for extension authors.
pub const HEADER: &str = include_str!("../../headers/ipft.h");
const SKELETON_BODY: &str = include_str!("../../headers/skeleton.bpf.c");

/// `--gen bpf-module-skeleton`: a complete extension that stands alone
/// (the header's definitions inline, then a minimal `module()`).
pub fn skeleton() -> String {
    // Drop the licence line and the include guard (its two opening lines and
    // the last #endif).
    let mut body: Vec<&str> = HEADER
        .lines()
        .filter(|l| !l.starts_with("/* SPDX") && !l.contains("__IPFT_EXTENSION_H__"))
        .collect();
    if let Some(last) = body.iter().rposition(|l| l.trim() == "#endif") {
        body.remove(last);
    }
    format!("{}\n\n{SKELETON_BODY}", body.join("\n").trim())
}

const EM_BPF: u16 = 247;

/// The largest extension object read (real ones are a few KiB to a few MiB).
const MAX_OBJECT_BYTES: u64 = 64 << 20;

/// A checked extension object.
pub struct Extension {
    pub name: String,
    pub object: Vec<u8>,
    pub decoder: Decoder,
    /// A Lua script's decoder (`-s`, `-e x.lua`), which replaces `decoder`.
    pub script: Option<lua::Script>,
}

impl Extension {
    /// Reads an extension by its suffix: a `.o` object, `.c` source that
    /// ipft compiles itself, or a `.lua` script (always with `lua`: `-s`).
    pub fn open(path: &Path, lua: bool) -> Result<Extension> {
        let name = path.display().to_string();
        let suffix = path.extension().and_then(|e| e.to_str());
        if lua || suffix == Some("lua") {
            let (object, script) = lua::Script::open(path)?;
            let name = format!("the program of {name}");
            check_object(&name, &object)?;
            return Ok(Extension {
                name,
                object,
                decoder: Decoder::default(),
                script: Some(script),
            });
        }
        match suffix {
            Some("o") => {
                crate::compile::check_regular_file(path, "extension", MAX_OBJECT_BYTES)?;
                let bytes =
                    std::fs::read(path).with_context(|| format!("cannot read extension {name}"))?;
                Self::from_object(&name, bytes)
            }
            Some("c") => {
                let object = crate::compile::compile_file(path)?;
                // Compiled with -g: no BTF at all means the file defined nothing.
                if load::object_btf(&object).is_err() {
                    bail!("{name}: bad extension: no `module` function (the file defines nothing)");
                }
                Self::from_object(&name, object)
            }
            _ => bail!("{name}: an extension must be a BPF object (.o), BPF C source (.c) or a Lua script (.lua)"),
        }
    }

    /// Checks an extension object and builds its decoder.
    pub fn from_object(name: &str, object: Vec<u8>) -> Result<Extension> {
        let btf = check_object(name, &object)?;
        let decoder = Decoder::from_btf(&btf).with_context(|| format!("{name}: bad extension"))?;
        Ok(Extension {
            name: name.to_string(),
            object,
            decoder,
            script: None,
        })
    }
}

/// Checks that `object` is a BPF object with a `module()` and no pinned
/// map; its BTF.
fn check_object(name: &str, object: &[u8]) -> Result<Btf> {
    use object::Object as _;
    if !object.starts_with(b"\x7fELF") {
        bail!("{name} is not an ELF object: expected a BPF object built with clang -target bpf -g");
    }
    let elf = object::File::parse(object)
        .map_err(|e| anyhow::anyhow!("{name} is a truncated or corrupt ELF object ({e})"))?;
    let machine = match &elf {
        object::File::Elf64(f) => f.elf_header().e_machine.get(f.endian()),
        object::File::Elf32(f) => f.elf_header().e_machine.get(f.endian()),
        _ => 0,
    };
    if machine != EM_BPF {
        bail!(
            "{name} is an ELF object for {:?}, not BPF: compile it with clang -target bpf",
            elf.architecture()
        );
    }
    let btf = load::object_btf(object).with_context(|| format!("{name}: cannot read its BTF"))?;
    check_module_function(&btf).with_context(|| format!("{name}: bad extension"))?;
    check_no_pinned_maps(&btf).with_context(|| format!("{name}: bad extension"))?;
    Ok(btf)
}

/// A map with `__uint(pinning, LIBBPF_PIN_BY_NAME)` would stay in bpffs
/// after ipft exits (and be reused, stale, by the next run): refused.
fn check_no_pinned_maps(btf: &Btf) -> Result<()> {
    let Some(maps) = btf.find_own(".maps", |k| matches!(k, Kind::Datasec { .. })) else {
        return Ok(());
    };
    let Some(Kind::Datasec { vars, .. }) = btf.kind(maps) else {
        return Ok(());
    };
    for &(var, ..) in vars {
        let Some(Kind::Var { target, .. }) = btf.kind(var) else {
            continue;
        };
        let Some(Kind::Struct { members, .. }) = btf.kind(btf.skip_mods(*target)) else {
            continue;
        };
        let pinned = members.iter().any(|m| {
            btf.str_at(m.name_off) == "pinning"
                && matches!(
                    btf.kind(btf.skip_mods(m.type_id)),
                    Some(Kind::Ptr { target }) if matches!(
                        btf.kind(*target),
                        Some(Kind::Array { nelems, .. }) if *nelems != 0
                    )
                )
        });
        if pinned {
            bail!(
                "map `{}` asks to be pinned (LIBBPF_PIN_BY_NAME): ipft does not pin extension maps, a pinned map would outlive the trace; remove its `pinning` attribute",
                btf.name(var)
            );
        }
    }
    Ok(())
}

/// `module` must exist and take (ctx, skb, data).
fn check_module_function(btf: &Btf) -> Result<()> {
    const PROTO: &str = "int module(void *ctx, struct sk_buff *skb, __u8 data[64])";
    let func = btf
        .find_own("module", |k| matches!(k, Kind::Func { .. }))
        .with_context(|| format!("no `module` function: define `__hidden {PROTO}`"))?;
    let Some(Kind::Func { proto, .. }) = btf.kind(func) else {
        unreachable!()
    };
    let Some(Kind::FuncProto { params, ret }) = btf.kind(*proto) else {
        bail!("`module` has no prototype in BTF");
    };
    if params.len() != 3 {
        bail!(
            "`module` takes {} parameters; it must be `{PROTO}`",
            params.len()
        );
    }
    let is_int = matches!(
        btf.kind(btf.skip_mods(*ret)),
        Some(Kind::Int { .. } | Kind::Enum { .. })
    );
    let ptr = |i: usize| {
        matches!(
            btf.kind(btf.skip_mods(params[i].type_id)),
            Some(Kind::Ptr { .. })
        )
    };
    if !is_int || !(0..3).all(ptr) {
        bail!("`module` has the wrong signature; it must be `{PROTO}`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::raw::DATA_SIZE;
    use std::process::Command;

    /// Compiles a BPF C file with clang, or `None` (after saying so) without clang.
    fn compile(rel: &str) -> Option<Vec<u8>> {
        let root = env!("CARGO_MANIFEST_DIR");
        let clang = ["clang-19", "clang"]
            .into_iter()
            .find(|c| Command::new(c).arg("--version").output().is_ok())?;
        let out = std::env::temp_dir().join(format!(
            "ipft-unit-{}-{}.o",
            std::process::id(),
            rel.replace('/', "_")
        ));
        let status = Command::new(clang)
            .args(["-target", "bpf", "-O2", "-g", "-c"])
            .arg(format!("-I{root}/vendor/libbpf"))
            .arg(format!("-I{root}/headers"))
            .args(["-idirafter", "/usr/include/x86_64-linux-gnu"])
            .arg(format!("{root}/{rel}"))
            .arg("-o")
            .arg(&out)
            .status()
            .ok()?;
        assert!(status.success(), "clang failed on {rel}");
        let bytes = std::fs::read(&out).ok();
        let _ = std::fs::remove_file(&out);
        bytes
    }

    #[test]
    fn skeleton_is_self_contained() {
        let s = skeleton();
        assert!(s.contains("#define __ipft_event_struct __ipft_event_struct __ipft_sec_skip"));
        assert!(s.contains("__hidden int module(void *ctx, struct sk_buff *skb, __u8 data[64])"));
        assert_eq!(
            s.matches("#if").count(),
            s.matches("#endif").count(),
            "balanced: {s}"
        );
        assert!(!s.contains("SPDX") && !s.contains("__IPFT_EXTENSION_H__"));
    }

    #[test]
    fn gso_example_decodes_flags() {
        let Some(obj) = compile("tests/extensions/gso.bpf.c") else {
            eprintln!("SKIP gso_example_decodes_flags: no clang");
            return;
        };
        let ext = Extension::from_object("gso", obj).unwrap();
        assert_eq!(
            ext.decoder.describe()[1..5],
            [
                "[0] key: len kind: INT formatter: default",
                "[1] key: gso_size kind: INT formatter: default",
                "[2] key: gso_segs kind: INT formatter: default",
                "[3] key: gso_type kind: INT formatter: enum_flags",
            ]
        );
        let mut data = [0u8; DATA_SIZE];
        data[0..4].copy_from_slice(&2688u32.to_ne_bytes());
        data[4..6].copy_from_slice(&1460u16.to_ne_bytes());
        data[6..8].copy_from_slice(&2u16.to_ne_bytes());
        data[8..12].copy_from_slice(&0x101u32.to_ne_bytes());
        let text: Vec<String> = ext
            .decoder
            .decode(&data)
            .iter()
            .map(|f| format!("{}: {}", f.name, f.value))
            .collect();
        assert_eq!(
            text,
            [
                "len: 2688",
                "gso_size: 1460",
                "gso_segs: 2",
                "gso_type: tcpv4|ipxip4"
            ]
        );
    }

    /// Random corruption of a real extension's BTF never panics the reader
    /// or the decoder builder (a stable-toolchain stand-in for `fuzz/`).
    #[test]
    fn corrupted_btf_never_panics() {
        let Some(obj) = compile("tests/extensions/all_printers.bpf.c") else {
            eprintln!("SKIP corrupted_btf_never_panics: no clang");
            return;
        };
        let btf_bytes = {
            use object::{Object as _, ObjectSection as _};
            let f = object::File::parse(&*obj).unwrap();
            f.section_by_name(".BTF").unwrap().data().unwrap().to_vec()
        };
        let good = Btf::parse(&btf_bytes).unwrap();
        let decoder = Decoder::from_btf(&good).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut bytes = btf_bytes.clone();
            for _ in 0..(next() % 8 + 1) {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            bytes.truncate((next() as usize) % (bytes.len() + 1));
            if let Ok(btf) = Btf::parse(&bytes) {
                if let Ok(d) = Decoder::from_btf(&btf) {
                    let _ = d.decode(&[0xa5; DATA_SIZE]);
                }
            }
            let mut data = [0u8; DATA_SIZE];
            data.iter_mut().for_each(|b| *b = next() as u8);
            for f in decoder.decode(&data) {
                let _ = f.value.to_string();
            }
        }
    }
}
