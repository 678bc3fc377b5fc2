//! # cBPF to C
//!
//! Turns a classic BPF program into a C function that ipft's built-in
//! compiler makes into eBPF. Classic BPF only jumps forward, so each
//! instruction becomes a labelled statement and each jump a `goto`; the
//! verifier sees a loop-free function. Packet loads read kernel memory with
//! `bpf_probe_read_kernel` and fail the match when they fall outside the
//! linear bytes, as a load past the end does in classic BPF.

use std::fmt::Write as _;

use super::pcap::Insn;

/// Why a program cannot run inside ipft's programs.
#[derive(Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// An instruction this translator does not know (Linux ancillary loads,
    /// extensions of other systems).
    Instruction { index: usize, code: u16, k: u32 },
    /// A jump past the end of the program.
    Jump { index: usize },
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsupported::Instruction { index, code, k } => write!(
                f,
                "instruction {index} (code {code:#06x}, k {k:#x}) has no meaning on packet bytes read from an skb"
            ),
            Unsupported::Jump { index } => {
                write!(f, "instruction {index} jumps past the end of the program")
            }
        }
    }
}

// Classic BPF encoding (<linux/filter.h>, <pcap/bpf.h>).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;

const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;

const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;

const SRC_X: u16 = 0x08;

/// Loads beyond this offset are not attempted: Linux's ancillary data
/// (`SKF_AD_OFF`, -0x1000) and anything else no packet reaches.
const MAX_OFFSET: u32 = 0xffff;

/// The C function `name(pkt, caplen, wirelen)` for `insns`.
pub fn to_c(name: &str, insns: &[Insn]) -> Result<String, Unsupported> {
    let mut body = String::new();
    let uses_mem = insns.iter().any(|i| {
        matches!(i.code & 0x07, ST | STX) || (i.code & 0xe0 == MEM && i.code & 0x07 <= LDX)
    });
    for (index, insn) in insns.iter().enumerate() {
        let stmt = statement(index, insn, insns.len())?;
        let _ = writeln!(body, "L{index}:\t{stmt}");
    }
    let mem = if uses_mem {
        "\t__u32 M[16] = {};\n"
    } else {
        ""
    };
    Ok(format!(
        "static __always_inline __u32 {name}(const __u8 *win, const unsigned char *pkt, __u32 caplen, __u32 wirelen)\n\
         {{\n\t__u32 A = 0, X = 0;\n{mem}{body}\treturn 0;\n}}\n"
    ))
}

fn target(index: usize, offset: u32, len: usize) -> Result<usize, Unsupported> {
    let to = index as u64 + 1 + offset as u64;
    if to >= len as u64 {
        return Err(Unsupported::Jump { index });
    }
    Ok(to as usize)
}

/// The usual `X` of an indexed load: the length of an IPv4 header without
/// options (`ldxb 4*([14]&0xf)`), tried first at a constant offset.
const USUAL_X: u32 = 20;

fn load_bytes(size: u16) -> Option<u32> {
    match size {
        W => Some(4),
        H => Some(2),
        B => Some(1),
        _ => None,
    }
}

/// A load of `size` at a constant offset (from the window when it is
/// there) or at `X + offset`: from the window at a constant offset when `X`
/// is [`USUAL_X`], else with a helper call (a variable index into the
/// window would be a variable stack offset, which the verifier refuses).
fn load(size: u16, offset: u32, indirect: bool) -> Option<String> {
    let bytes = load_bytes(size)?;
    Some(if indirect {
        format!(
            "if (X == {USUAL_X}U) {{ IPFT_LD{bytes}(IPFT_READ, {}ULL); }} else {{ IPFT_LD{bytes}(IPFT_READ_AT, (__u64)X + {offset}ULL); }}",
            offset as u64 + USUAL_X as u64
        )
    } else {
        format!("IPFT_LD{bytes}(IPFT_READ, {offset}ULL);")
    })
}

/// The bytes the programs' loads at constant offsets reach (indexed loads
/// with the usual `X`), so the caller reads no more than that into the
/// window: at least 8 (the IP header's version and length) and at most
/// `max`.
pub fn window_needed(programs: &[&[Insn]], max: u32) -> u32 {
    let reach = programs
        .iter()
        .flat_map(|p| p.iter())
        .filter_map(|i| {
            let (class, mode) = (i.code & 0x07, i.code & 0xe0);
            let bytes = load_bytes(i.code & 0x18)?;
            match (class, mode) {
                (LD, ABS) | (LDX, MSH) if i.k <= MAX_OFFSET => {
                    Some(i.k + if class == LDX { 1 } else { bytes })
                }
                (LD, IND) if i.k <= MAX_OFFSET => Some(USUAL_X + i.k + bytes),
                _ => None,
            }
        })
        .max()
        .unwrap_or(0);
    reach.clamp(8, max)
}

fn statement(index: usize, i: &Insn, len: usize) -> Result<String, Unsupported> {
    let unsupported = || Unsupported::Instruction {
        index,
        code: i.code,
        k: i.k,
    };
    let k = i.k;
    let class = i.code & 0x07;
    let size = i.code & 0x18;
    let mode = i.code & 0xe0;
    let op = i.code & 0xf0;
    let operand = if i.code & SRC_X != 0 {
        "X".to_string()
    } else {
        format!("{k}U")
    };
    Ok(match class {
        LD => match mode {
            ABS if k <= MAX_OFFSET => load(size, k, false).ok_or_else(unsupported)?,
            IND if k <= MAX_OFFSET => load(size, k, true).ok_or_else(unsupported)?,
            IMM if size == W => format!("A = {k}U;"),
            MEM if size == W && k < 16 => format!("A = M[{k}];"),
            LEN if size == W => "A = wirelen;".into(),
            _ => return Err(unsupported()),
        },
        LDX => match mode {
            IMM if size == W => format!("X = {k}U;"),
            MEM if size == W && k < 16 => format!("X = M[{k}];"),
            LEN if size == W => "X = wirelen;".into(),
            MSH if size == B && k <= MAX_OFFSET => format!("IPFT_LDMSH(IPFT_READ, {k}ULL);"),
            _ => return Err(unsupported()),
        },
        ST if k < 16 => format!("M[{k}] = A;"),
        STX if k < 16 => format!("M[{k}] = X;"),
        ALU => match op {
            0x00 => format!("A += {operand};"),
            0x10 => format!("A -= {operand};"),
            0x20 => format!("A *= {operand};"),
            0x30 | 0x90 => {
                let sym = if op == 0x30 { "/" } else { "%" };
                // Division by zero ends a classic BPF program with 0.
                format!("if ({operand} == 0) return 0; A {sym}= {operand};")
            }
            0x40 => format!("A |= {operand};"),
            0x50 => format!("A &= {operand};"),
            0x60 => format!("A = {operand} >= 32 ? 0 : A << {operand};"),
            0x70 => format!("A = {operand} >= 32 ? 0 : A >> {operand};"),
            0x80 => "A = -A;".into(),
            0xa0 => format!("A ^= {operand};"),
            _ => return Err(unsupported()),
        },
        JMP => {
            if op == 0x00 {
                return Ok(format!("goto L{};", target(index, k, len)?));
            }
            let cond = match op {
                0x10 => format!("A == {operand}"),
                0x20 => format!("A > {operand}"),
                0x30 => format!("A >= {operand}"),
                0x40 => format!("(A & {operand}) != 0"),
                _ => return Err(unsupported()),
            };
            let jt = target(index, i.jt as u32, len)?;
            let jf = target(index, i.jf as u32, len)?;
            format!("if ({cond}) goto L{jt}; else goto L{jf};")
        }
        RET => match i.code & 0x18 {
            0x00 => format!("return {k}U;"),
            0x08 => "return X;".into(),
            0x10 => "return A;".into(),
            _ => return Err(unsupported()),
        },
        MISC => match i.code & 0xf8 {
            0x00 => "X = A;".into(),
            0x80 => "A = X;".into(),
            _ => return Err(unsupported()),
        },
        _ => return Err(unsupported()),
    })
}

/// The loads, as macros of the generated file. At a constant offset, from
/// the window of the first bytes the caller read (`IPFT_WINDOW`) when the
/// bytes are in it, else with a helper call, as every load at `X + k` is; a
/// load past the linear bytes (or one the kernel refuses) ends the program
/// with no match.
pub const PRELUDE: &str = r#"#define IPFT_READ_AT(off, n, out)                                                \
	do {                                                                       \
		__u64 o_ = (off);                                                  \
		if (o_ + (n) > caplen || bpf_probe_read_kernel(out, n, pkt + o_)) \
			return 0;                                                  \
	} while (0)
#define IPFT_READ(off, n, out)                                                   \
	do {                                                                       \
		if ((off) + (n) <= IPFT_WINDOW) {                                  \
			if ((off) + (n) > caplen)                                  \
				return 0;                                          \
			for (int i_ = 0; i_ < (n); i_++)                           \
				(out)[i_] = win[(off) + i_];                       \
		} else {                                                           \
			IPFT_READ_AT(off, n, out);                                 \
		}                                                                  \
	} while (0)
#define IPFT_LD4(read, off)                                                        \
	do {                                                                       \
		__u8 b_[4];                                                        \
		read(off, 4, b_);                                                  \
		A = (__u32)b_[0] << 24 | (__u32)b_[1] << 16 | (__u32)b_[2] << 8 | b_[3]; \
	} while (0)
#define IPFT_LD2(read, off)                                                        \
	do {                                                                       \
		__u8 b_[2];                                                        \
		read(off, 2, b_);                                                  \
		A = (__u32)b_[0] << 8 | b_[1];                                     \
	} while (0)
#define IPFT_LD1(read, off)                                                        \
	do {                                                                       \
		__u8 b_[1];                                                        \
		read(off, 1, b_);                                                  \
		A = b_[0];                                                         \
	} while (0)
#define IPFT_LDMSH(read, off)                                                      \
	do {                                                                       \
		__u8 b_[1];                                                        \
		read(off, 1, b_);                                                  \
		X = 4 * (b_[0] & 0xf);                                             \
	} while (0)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    #[test]
    fn every_classic_instruction_libpcap_emits_translates() {
        let prog = [
            insn(0x28, 0, 0, 12),     // ldh [12]
            insn(0x15, 0, 6, 0x800),  // jeq #0x800
            insn(0x30, 0, 0, 23),     // ldb [23]
            insn(0xb1, 0, 0, 14),     // ldxb 4*([14]&0xf)
            insn(0x48, 0, 0, 16),     // ldh [x + 16]
            insn(0x02, 0, 0, 1),      // st M[1]
            insn(0x61, 0, 0, 1),      // ldx M[1]
            insn(0x45, 0, 1, 0x1fff), // jset #0x1fff
            insn(0x06, 0, 0, 262144), // ret #262144
            insn(0x06, 0, 0, 0),      // ret #0
        ];
        let c = to_c("f", &prog).unwrap();
        for want in [
            "L0:\tIPFT_LD2(IPFT_READ, 12ULL);",
            "L1:\tif (A == 2048U) goto L2; else goto L8;",
            "L3:\tIPFT_LDMSH(IPFT_READ, 14ULL);",
            "L4:\tif (X == 20U) { IPFT_LD2(IPFT_READ, 36ULL); } else { IPFT_LD2(IPFT_READ_AT, (__u64)X + 16ULL); }",
            "L5:\tM[1] = A;",
            "L6:\tX = M[1];",
            "L7:\tif ((A & 8191U) != 0) goto L8; else goto L9;",
            "L8:\treturn 262144U;",
            "__u32 M[16] = {};",
        ] {
            assert!(c.contains(want), "{want:?} not in\n{c}");
        }
    }

    #[test]
    fn the_window_covers_what_constant_loads_reach() {
        let udp_dst_port = [
            insn(0x28, 0, 0, 12), // ldh [12]
            insn(0x30, 0, 0, 20), // ldb [20]
            insn(0x28, 0, 0, 56), // ldh [56]: IPv6 destination port
            insn(0xb1, 0, 0, 14), // ldxb 4*([14]&0xf)
            insn(0x48, 0, 0, 16), // ldh [x + 16]: IPv4 destination port, 20 + 16 + 2
            insn(0x06, 0, 0, 0),
        ];
        assert_eq!(window_needed(&[&udp_dst_port], 128), 58);
        assert_eq!(window_needed(&[&udp_dst_port[..1]], 128), 14);
        assert_eq!(
            window_needed(&[&[insn(0x06, 0, 0, 0)]], 128),
            8,
            "the IP header's length"
        );
        assert_eq!(window_needed(&[&[insn(0x20, 0, 0, 1000)]], 128), 128);
    }

    #[test]
    fn what_cannot_run_is_refused_with_the_instruction() {
        // ld [-4096 + 36]: Linux ancillary data (SKF_AD_IFINDEX).
        let e = to_c("f", &[insn(0x20, 0, 0, 0xffff_f024), insn(0x06, 0, 0, 0)]).unwrap_err();
        assert_eq!(
            e,
            Unsupported::Instruction {
                index: 0,
                code: 0x20,
                k: 0xffff_f024
            }
        );
        let e = to_c("f", &[insn(0x05, 0, 0, 5), insn(0x06, 0, 0, 0)]).unwrap_err();
        assert_eq!(e, Unsupported::Jump { index: 0 });
    }

    #[test]
    fn division_by_zero_and_wide_shifts_end_safely() {
        let c = to_c(
            "f",
            &[
                insn(0x3c, 0, 0, 0), // div x
                insn(0x6c, 0, 0, 0), // lsh x
                insn(0x16, 0, 0, 0), // ret a
            ],
        )
        .unwrap();
        assert!(c.contains("if (X == 0) return 0; A /= X;"), "{c}");
        assert!(c.contains("A = X >= 32 ? 0 : A << X;"), "{c}");
    }
}
