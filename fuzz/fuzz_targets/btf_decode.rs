//! Any bytes as extension BTF: parsing, building the payload decoder and
//! decoding must never panic or hang.
#![no_main]

use ipft::btf::Btf;
use ipft::ext::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (btf_bytes, payload) = data.split_at(data.len().saturating_sub(64));
    if let Ok(btf) = Btf::parse(btf_bytes) {
        if let Ok(decoder) = Decoder::from_btf(&btf) {
            let mut area = [0u8; 64];
            area[..payload.len()].copy_from_slice(payload);
            for field in decoder.decode(&area) {
                let _ = field.value.to_string();
            }
        }
    }
});
