//! # skb arguments in BTF
//!
//! Decides, from a function prototype, where a `struct sk_buff *` argument
//! sits and whether each backend can read it: a pointer to `struct sk_buff`
//! seen through const, volatile, typedefs and type tags.

use crate::btf::{Btf, Kind, Param};

/// Most arguments a BPF trampoline or BTF tracepoint context carries.
pub const MAX_CTX_ARGS: u32 = 12;
/// Arguments the kprobe family reads from registers (x86_64: rdi … r8).
pub const MAX_REG_ARGS: u32 = 5;

/// Where the skb is in a prototype and who can read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkbArg {
    /// 0-based index of the 8-byte argument slot holding the skb pointer.
    pub pos: u32,
    /// The slot is also the register index (no struct passed by value before
    /// the skb shifts the register assignment).
    pub in_register: bool,
    /// A trampoline (fentry/fexit) can attach: at most 12 arguments, not
    /// variadic, structs by value no larger than 16 bytes.
    pub trampoline_ok: bool,
}

/// True if `type_id` is a pointer to `struct sk_buff` (modifiers allowed on
/// both sides of the pointer).
pub fn is_skb_ptr(btf: &Btf, type_id: u32) -> bool {
    let Some(Kind::Ptr { target }) = btf.kind(btf.skip_mods(type_id)) else {
        return false;
    };
    let target = btf.skip_mods(*target);
    matches!(btf.kind(target), Some(Kind::Struct { .. })) && btf.name_is(target, "sk_buff")
}

/// True if `type_id` is a struct or union (by value), modifiers skipped.
pub fn is_aggregate(btf: &Btf, type_id: u32) -> bool {
    matches!(
        btf.kind(btf.skip_mods(type_id)),
        Some(Kind::Struct { .. } | Kind::Union { .. })
    )
}

/// Finds the first skb pointer among `params`.
pub fn find_skb_arg(btf: &Btf, params: &[Param]) -> Option<SkbArg> {
    let variadic = params
        .last()
        .is_some_and(|p| p.type_id == 0 && p.name_off == 0);
    let fixed = if variadic {
        &params[..params.len() - 1]
    } else {
        params
    };
    // Most functions take no skb: skip their parameters' sizes.
    if !fixed.iter().any(|p| is_skb_ptr(btf, p.type_id)) {
        return None;
    }
    let mut slot = 0u32;
    let mut in_register = true;
    let mut large_struct = false;
    let mut found = None;
    for p in fixed {
        let resolved = btf.skip_mods(p.type_id);
        let by_value_aggregate = matches!(
            btf.kind(resolved),
            Some(Kind::Struct { .. } | Kind::Union { .. })
        );
        if found.is_none() && is_skb_ptr(btf, p.type_id) {
            found = Some(slot);
        }
        let size = btf.size_of(p.type_id).unwrap_or(8);
        if by_value_aggregate {
            large_struct |= size > 16;
            if found.is_none() {
                in_register = false;
            }
        }
        slot += size.div_ceil(8).max(1);
    }
    let pos = found?;
    Some(SkbArg {
        pos,
        in_register,
        trampoline_ok: !variadic
            && !large_struct
            && fixed.len() as u32 <= MAX_CTX_ARGS
            && slot <= MAX_CTX_ARGS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::tests::sample;

    #[test]
    fn const_skb_pointer_is_found() {
        let btf = Btf::parse(&sample()).unwrap();
        let Some(Kind::FuncProto { params, .. }) = btf.kind(5) else {
            panic!()
        };
        let arg = find_skb_arg(&btf, params).unwrap();
        assert_eq!(
            arg,
            SkbArg {
                pos: 1,
                in_register: true,
                trampoline_ok: true
            }
        );
        assert!(is_skb_ptr(&btf, 4));
        assert!(!is_skb_ptr(&btf, 2), "a struct by value is not a pointer");
    }
}
