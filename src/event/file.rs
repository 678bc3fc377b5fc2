//! # The events file
//!
//! `-w FILE` records the raw stream; `--read FILE` plays it back through the
//! same decoding, so what it prints is what the live run printed. Layout
//! (format version 1, little endian):
//!
//! ```text
//! "IPFT-EV\0"  u32 format version
//! frame*       u32 length, then one zstd frame of that many bytes
//! ```
//!
//! The first frame is the [`Header`] as JSON: where and when the trace was
//! taken, the monotonic → wall-clock offset, the hook table and the
//! extension's decoder, so reading needs no root, BPF, kernel BTF or
//! extension object. Every later frame holds [`RawRecord`]s, postcard-encoded
//! (varints; timestamps as deltas within the frame; the extension data
//! without its trailing zeros). Frames are independent and written whole at
//! least once a second, so a file cut short (SIGKILL, a full disk) reads
//! back up to its last complete frame.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::decode::Hook;
use super::fields::FieldSet;
use super::raw::{RawEvent, RawRecord, DATA_SIZE};
use crate::ext::Decoder;

const MAGIC: &[u8; 8] = b"IPFT-EV\0";
pub const FORMAT_VERSION: u32 = 1;
/// A frame is written once this much is buffered, or after [`FRAME_EVERY`].
const FRAME_BYTES: usize = 256 << 10;
const FRAME_EVERY: Duration = Duration::from_secs(1);
/// Larger frames are corruption, not data.
const FRAME_MAX: u32 = 64 << 20;
const ZSTD_LEVEL: i32 = 3;

/// Everything needed to render the records again, anywhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format_version: u32,
    pub ipft_version: String,
    pub kernel_release: String,
    pub hostname: String,
    pub boot_id: String,
    /// CLOCK_REALTIME − CLOCK_MONOTONIC in ns when tracing started.
    pub realtime_offset_ns: i64,
    /// When tracing started, RFC 3339.
    pub started: String,
    pub backend: String,
    pub tracer: String,
    pub mark: u32,
    pub mask: u32,
    pub track: bool,
    pub idle_timeout_ns: u64,
    pub snaplen: u16,
    /// Probe id → hook.
    pub hooks: Vec<Hook>,
    /// The extension's file name, if one was used.
    pub extension: Option<String>,
    pub decoder: Decoder,
    /// The built-in fields the run asked for (`--fields`, `--drops`).
    #[serde(default)]
    pub fields: FieldSet,
    /// The kernel's drop reasons (`enum skb_drop_reason`), value → name.
    #[serde(default)]
    pub drop_reasons: Vec<(u32, String)>,
}

/// CLOCK_REALTIME − CLOCK_MONOTONIC now, in ns.
pub fn realtime_offset_ns() -> i64 {
    use rustix::time::{clock_gettime, ClockId};
    let ns = |t: rustix::time::Timespec| t.tv_sec as i128 * 1_000_000_000 + t.tv_nsec as i128;
    let before = ns(clock_gettime(ClockId::Monotonic));
    let real = ns(clock_gettime(ClockId::Realtime));
    let after = ns(clock_gettime(ClockId::Monotonic));
    (real - (before + after) / 2) as i64
}

/// The running system's identity for the header: (kernel release, hostname, boot id).
pub fn system_identity() -> (String, String, String) {
    let uname = rustix::system::uname();
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    (
        uname.release().to_string_lossy().into_owned(),
        uname.nodename().to_string_lossy().into_owned(),
        boot_id,
    )
}

/// One record as stored: varints, deltas, trimmed data.
#[derive(Serialize, Deserialize)]
enum Stored {
    Event {
        packet_id: u64,
        dt: i64,
        probe_id: u64,
        cpu: u32,
        is_return: u8,
        flags: u8,
        skb: u64,
        parent: u64,
        mark: u32,
        len: u32,
        ifindex: u32,
        netns: u32,
        data: Vec<u8>,
        tail: Vec<u8>,
    },
    Lost {
        new: u64,
        total: u64,
    },
    TrackingFull {
        new: u64,
        total: u64,
    },
    Tick {
        dt: i64,
    },
    Symbol {
        addr: u64,
        name: String,
    },
}

fn delta(ts: u64, prev: &mut u64) -> i64 {
    let d = ts.wrapping_sub(*prev) as i64;
    *prev = ts;
    d
}

fn undelta(d: i64, prev: &mut u64) -> u64 {
    *prev = prev.wrapping_add(d as u64);
    *prev
}

fn store(raw: &RawRecord, prev: &mut u64) -> Stored {
    match raw {
        RawRecord::Event(ev) => {
            let used = ev.data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            Stored::Event {
                packet_id: ev.packet_id,
                dt: delta(ev.tstamp, prev),
                probe_id: ev.probe_id,
                cpu: ev.processor_id,
                is_return: ev.is_return,
                flags: ev.flags,
                skb: ev.skb,
                parent: ev.parent,
                mark: ev.mark,
                len: ev.len,
                ifindex: ev.ifindex,
                netns: ev.netns,
                data: ev.data[..used].to_vec(),
                tail: ev.tail.clone(),
            }
        }
        RawRecord::Lost { new, total } => Stored::Lost {
            new: *new,
            total: *total,
        },
        RawRecord::TrackingFull { new, total } => Stored::TrackingFull {
            new: *new,
            total: *total,
        },
        RawRecord::Tick { now } => Stored::Tick {
            dt: delta(*now, prev),
        },
        RawRecord::Symbol { addr, name } => Stored::Symbol {
            addr: *addr,
            name: name.clone(),
        },
    }
}

fn load(stored: Stored, prev: &mut u64) -> Option<RawRecord> {
    Some(match stored {
        Stored::Event {
            packet_id,
            dt,
            probe_id,
            cpu,
            is_return,
            flags,
            skb,
            parent,
            mark,
            len,
            ifindex,
            netns,
            data,
            tail,
        } => {
            if data.len() > DATA_SIZE {
                return None;
            }
            let mut bytes = [0u8; DATA_SIZE];
            bytes[..data.len()].copy_from_slice(&data);
            RawRecord::Event(RawEvent {
                packet_id,
                tstamp: undelta(dt, prev),
                probe_id,
                processor_id: cpu,
                is_return,
                flags,
                _pad1: [0; 2],
                skb,
                parent,
                mark,
                len,
                ifindex,
                netns,
                data: bytes,
                tail,
            })
        }
        Stored::Lost { new, total } => RawRecord::Lost { new, total },
        Stored::TrackingFull { new, total } => RawRecord::TrackingFull { new, total },
        Stored::Tick { dt } => RawRecord::Tick {
            now: undelta(dt, prev),
        },
        Stored::Symbol { addr, name } => RawRecord::Symbol { addr, name },
    })
}

/// Records a stream; dropping it without [`Writer::finish`] loses at most
/// the last second.
pub struct Writer {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    prev_ts: u64,
    last_frame: Instant,
    pub records: u64,
    pub bytes: u64,
}

fn write_frame(file: &mut File, plain: &[u8]) -> io::Result<u64> {
    let packed = zstd::bulk::compress(plain, ZSTD_LEVEL)?;
    let mut frame = Vec::with_capacity(packed.len() + 4);
    frame.extend((packed.len() as u32).to_le_bytes());
    frame.extend(packed);
    file.write_all(&frame)?;
    Ok(frame.len() as u64)
}

impl Writer {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, header: &Header) -> Result<Writer> {
        let mut file = File::create(path).with_context(|| {
            format!(
                "cannot write the events file {}: pick a writable path for -w",
                path.display()
            )
        })?;
        let json = serde_json::to_vec(header).context("cannot encode the events file header")?;
        let mut start = MAGIC.to_vec();
        start.extend(FORMAT_VERSION.to_le_bytes());
        file.write_all(&start)
            .and_then(|_| write_frame(&mut file, &json))
            .with_context(|| format!("cannot write the events file {}", path.display()))?;
        Ok(Writer {
            file,
            path: path.to_path_buf(),
            buf: Vec::with_capacity(FRAME_BYTES + 4096),
            prev_ts: 0,
            last_frame: Instant::now(),
            records: 0,
            bytes: 12,
        })
    }

    pub fn push(&mut self, raw: &RawRecord) -> Result<()> {
        let stored = store(raw, &mut self.prev_ts);
        postcard::to_io(&stored, &mut self.buf).context("cannot encode a record")?;
        self.records += 1;
        if self.buf.len() >= FRAME_BYTES {
            self.frame()?;
        }
        Ok(())
    }

    /// Writes what is buffered if a frame is due (once a second).
    pub fn tick(&mut self) -> Result<()> {
        if !self.buf.is_empty() && self.last_frame.elapsed() >= FRAME_EVERY {
            self.frame()?;
        }
        Ok(())
    }

    fn frame(&mut self) -> Result<()> {
        self.bytes += write_frame(&mut self.file, &self.buf)
            .with_context(|| format!("cannot write the events file {}", self.path.display()))?;
        self.buf.clear();
        self.prev_ts = 0;
        self.last_frame = Instant::now();
        Ok(())
    }

    pub fn finish(mut self) -> Result<u64> {
        if !self.buf.is_empty() {
            self.frame()?;
        }
        self.file
            .flush()
            .with_context(|| format!("cannot write the events file {}", self.path.display()))?;
        Ok(self.bytes)
    }
}

/// Reads a file written by [`Writer`].
pub struct Reader {
    input: BufReader<File>,
    name: String,
    pub header: Header,
    frame: Vec<u8>,
    pos: usize,
    prev_ts: u64,
    pub records: u64,
    /// Set once the file turned out to end inside a frame.
    pub cut_short: Option<String>,
}

enum FrameRead {
    Frame(Vec<u8>),
    End,
    Cut(String),
}

fn read_frame(input: &mut impl Read) -> FrameRead {
    let mut len = [0u8; 4];
    match read_full(input, &mut len) {
        Ok(0) => return FrameRead::End,
        Ok(4) => {}
        Ok(_) => return FrameRead::Cut("a frame length is cut short".into()),
        Err(e) => return FrameRead::Cut(e.to_string()),
    }
    let len = u32::from_le_bytes(len);
    if len > FRAME_MAX {
        return FrameRead::Cut(format!("a frame claims {len} bytes"));
    }
    let mut packed = vec![0u8; len as usize];
    match read_full(input, &mut packed) {
        Ok(n) if n == packed.len() => {}
        Ok(n) => return FrameRead::Cut(format!("the last frame has {n} of its {len} bytes")),
        Err(e) => return FrameRead::Cut(e.to_string()),
    }
    match zstd::stream::decode_all(&packed[..]) {
        Ok(plain) => FrameRead::Frame(plain),
        Err(e) => FrameRead::Cut(format!("a frame does not decompress ({e})")),
    }
}

/// Like `read_exact`, but says how much it got before the end.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {name}"))?;
        if !meta.is_file() {
            bail!("{name} is not a regular file: --read takes an events file written by ipft -w");
        }
        let file = File::open(path).with_context(|| format!("cannot read {name}"))?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut start = [0u8; 12];
        let got =
            read_full(&mut input, &mut start).with_context(|| format!("cannot read {name}"))?;
        if got < 8 || &start[..8] != MAGIC {
            bail!("{name} is not an ipft events file (those are written by ipft -w)");
        }
        if got < 12 {
            bail!("{name}: the events file header is cut short");
        }
        let version = u32::from_le_bytes(start[8..12].try_into().unwrap());
        if version > FORMAT_VERSION {
            bail!("{name} is events file format {version}, newer than this ipft reads ({FORMAT_VERSION}): read it with a newer ipft");
        }
        let json = match read_frame(&mut input) {
            FrameRead::Frame(json) => json,
            FrameRead::End => bail!("{name}: the events file header is missing"),
            FrameRead::Cut(why) => bail!("{name}: the events file header is cut short ({why})"),
        };
        let header: Header = serde_json::from_slice(&json)
            .with_context(|| format!("{name}: the events file header is corrupt"))?;
        Ok(Reader {
            input,
            name,
            header,
            frame: Vec::new(),
            pos: 0,
            prev_ts: 0,
            records: 0,
            cut_short: None,
        })
    }

    /// The next record, or `None` at the end (see [`Reader::cut_short`]).
    pub fn next_record(&mut self) -> Option<RawRecord> {
        loop {
            if self.pos < self.frame.len() {
                if let Ok((stored, rest)) =
                    postcard::take_from_bytes::<Stored>(&self.frame[self.pos..])
                {
                    self.pos = self.frame.len() - rest.len();
                    if let Some(raw) = load(stored, &mut self.prev_ts) {
                        self.records += 1;
                        return Some(raw);
                    }
                }
                self.cut_short = Some("a frame holds a corrupt record".into());
                return None;
            }
            if self.cut_short.is_some() {
                return None;
            }
            match read_frame(&mut self.input) {
                FrameRead::Frame(plain) => {
                    self.frame = plain;
                    self.pos = 0;
                    self.prev_ts = 0;
                }
                FrameRead::End => return None,
                FrameRead::Cut(why) => {
                    self.cut_short = Some(why);
                    return None;
                }
            }
        }
    }

    /// The one-line note for a file that ends early.
    pub fn note(&self) -> Option<String> {
        self.cut_short.as_ref().map(|why| {
            format!(
                "note: {} ends early after {} records ({why}): the recorder was killed or its disk filled; everything before is shown",
                self.name, self.records
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format_version: FORMAT_VERSION,
            ipft_version: "0.1.0".into(),
            kernel_release: "6.12.0".into(),
            hostname: "h".into(),
            boot_id: "b".into(),
            realtime_offset_ns: 1 << 60,
            started: "2026-12-04T00:00:00.000000000Z".into(),
            backend: "tracepoint".into(),
            tracer: "function".into(),
            mark: 1,
            mask: u32::MAX,
            track: true,
            idle_timeout_ns: 3_000_000_000,
            snaplen: 0,
            hooks: vec![Hook {
                module: "net".into(),
                function: "netif_receive_skb".into(),
            }],
            extension: None,
            decoder: Decoder::default(),
            fields: FieldSet::default(),
            drop_reasons: Vec::new(),
        }
    }

    fn event(ts: u64) -> RawRecord {
        let mut data = [0u8; DATA_SIZE];
        data[3] = 9;
        RawRecord::Event(RawEvent {
            packet_id: 0x1_0000_0000_0001,
            tstamp: ts,
            probe_id: 0,
            processor_id: 1,
            is_return: 0,
            flags: 1,
            _pad1: [0; 2],
            skb: 0xffff_8880_1234_5600,
            parent: 0,
            mark: 1,
            len: 84,
            ifindex: 2,
            netns: 4026531840,
            data,
            tail: vec![1, 2, 3],
        })
    }

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ipft-file-{}-{name}", std::process::id()))
    }

    fn read_all(path: &Path) -> (Reader, Vec<RawRecord>) {
        let mut r = Reader::open(path).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record() {
            out.push(rec);
        }
        (r, out)
    }

    #[test]
    fn records_read_back_exactly_and_small() {
        let path = scratch("roundtrip");
        let mut w = Writer::create(&path, &header()).unwrap();
        let mut sent = Vec::new();
        for i in 0..10_000u64 {
            let rec = match i % 100 {
                0 => RawRecord::Tick {
                    now: 5_000 + i * 10,
                },
                1 => RawRecord::Lost { new: 1, total: i },
                _ => event(1_000_000_000 + i * 977),
            };
            w.push(&rec).unwrap();
            sent.push(rec);
            if i == 5_000 {
                w.frame().unwrap();
            }
        }
        let bytes = w.finish().unwrap();
        assert!(bytes < 10_000 * 16, "{bytes} bytes for 10000 records");
        let (r, got) = read_all(&path);
        assert_eq!(r.header.hooks, header().hooks);
        assert_eq!(r.header.realtime_offset_ns, 1 << 60);
        assert!(r.note().is_none());
        assert_eq!(got, sent);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_file_cut_short_reads_up_to_its_last_frame() {
        let path = scratch("cut");
        let mut w = Writer::create(&path, &header()).unwrap();
        for i in 0..100 {
            w.push(&event(i)).unwrap();
        }
        w.frame().unwrap();
        for i in 0..100 {
            w.push(&event(1000 + i)).unwrap();
        }
        w.finish().unwrap();
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        let (r, got) = read_all(&path);
        assert_eq!(got.len(), 100);
        let note = r.note().unwrap();
        assert!(note.contains("ends early after 100 records"), "{note}");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn bad_files_are_one_line_errors() {
        let path = scratch("bad");
        let err = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            format!("{:#}", Reader::open(&path).err().expect("refused"))
        };
        assert!(err(b"hello world, not ipft").contains("is not an ipft events file"));
        assert!(err(b"").contains("is not an ipft events file"));
        assert!(err(b"IPFT-EV\0\x01").contains("header is cut short"));
        assert!(err(b"IPFT-EV\0\x02\0\0\0").contains("newer than this ipft reads"));
        assert!(err(b"IPFT-EV\0\x01\0\0\0\x05\0\0\0abcde").contains("header is cut short"));
        let mut garbage = b"IPFT-EV\0\x01\0\0\0".to_vec();
        let packed = zstd::bulk::compress(b"{not json", 3).unwrap();
        garbage.extend((packed.len() as u32).to_le_bytes());
        garbage.extend(packed);
        assert!(err(&garbage).contains("header is corrupt"));
        assert!(err(b"").lines().count() == 1);
        let _ = std::fs::remove_file(&path);
        let dir = std::env::temp_dir();
        assert!(format!("{:#}", Reader::open(&dir).err().unwrap()).contains("not a regular file"));
    }
}
