//! # libpcap
//!
//! Compiles a pcap-filter expression (tcpdump's syntax) to classic BPF with
//! the static libpcap linked into ipft, on a dead handle: no capture is ever
//! opened. The only `unsafe` of `filter/`.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};

/// One classic BPF instruction (`struct bpf_insn` of `<pcap/bpf.h>`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut Insn,
}

unsafe extern "C" {
    fn pcap_open_dead(linktype: c_int, snaplen: c_int) -> *mut c_void;
    fn pcap_compile(
        p: *mut c_void,
        fp: *mut BpfProgram,
        s: *const c_char,
        optimize: c_int,
        netmask: u32,
    ) -> c_int;
    fn pcap_freecode(fp: *mut BpfProgram);
    fn pcap_geterr(p: *mut c_void) -> *mut c_char;
    fn pcap_close(p: *mut c_void);
}

/// Link types of `<pcap/dlt.h>` (Linux values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// DLT_EN10MB: bytes from the Ethernet header.
    Ethernet = 1,
    /// DLT_RAW: bytes from the IPv4 or IPv6 header.
    Raw = 12,
}

/// What `ret` returns for a match: any non-zero snap length.
const SNAPLEN: c_int = 262_144;
const PCAP_NETMASK_UNKNOWN: u32 = 0xffff_ffff;

/// Compiles `expr` for `link`; the error is libpcap's own message.
pub fn compile(expr: &str, link: LinkType) -> Result<Vec<Insn>, String> {
    let expr = CString::new(expr).map_err(|_| "the expression contains a NUL byte".to_string())?;
    // SAFETY: plain values; the handle is checked and closed below.
    let handle = unsafe { pcap_open_dead(link as c_int, SNAPLEN) };
    if handle.is_null() {
        return Err("libpcap could not make a handle".into());
    }
    let mut program = BpfProgram {
        bf_len: 0,
        bf_insns: std::ptr::null_mut(),
    };
    // SAFETY: handle is live, program a valid out-parameter, expr NUL-terminated.
    let rc = unsafe { pcap_compile(handle, &mut program, expr.as_ptr(), 1, PCAP_NETMASK_UNKNOWN) };
    let result = if rc != 0 {
        // SAFETY: pcap_geterr returns the handle's NUL-terminated error buffer.
        let msg = unsafe { CStr::from_ptr(pcap_geterr(handle)) };
        Err(msg.to_string_lossy().into_owned())
    } else {
        // SAFETY: on success libpcap filled bf_len instructions at bf_insns.
        let insns =
            unsafe { std::slice::from_raw_parts(program.bf_insns, program.bf_len as usize) };
        let insns = insns.to_vec();
        // SAFETY: freeing the program libpcap allocated, once.
        unsafe { pcap_freecode(&mut program) };
        Ok(insns)
    };
    // SAFETY: closing the handle opened above, once.
    unsafe { pcap_close(handle) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_compile_for_both_link_types() {
        let eth = compile("udp and dst port 9", LinkType::Ethernet).unwrap();
        // ldh [12]: the EtherType comes first on Ethernet.
        assert_eq!(
            eth[0],
            Insn {
                code: 0x28,
                jt: 0,
                jf: 0,
                k: 12
            }
        );
        let raw = compile("udp and dst port 9", LinkType::Raw).unwrap();
        // ldb [0]: the IP version nibble comes first on raw IP.
        assert_eq!(
            raw[0],
            Insn {
                code: 0x30,
                jt: 0,
                jf: 0,
                k: 0
            }
        );
        assert_eq!(raw.last().unwrap().code, 0x06, "ends with ret");
    }

    #[test]
    fn errors_are_libpcaps_own() {
        let e = compile("udp and dst port", LinkType::Ethernet).unwrap_err();
        assert!(e.contains("syntax error"), "{e}");
        let e = compile("port 99999999", LinkType::Ethernet).unwrap_err();
        assert!(e.contains("port"), "{e}");
        assert!(compile("ether host 1:2:3:4:5:6", LinkType::Raw).is_err());
    }
}
