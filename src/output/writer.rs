//! # The output's writer
//!
//! What every output renders goes to stdout from a thread of its own, in
//! chunks, so that a slow disk or a pipe whose reader pauses never keeps ipft
//! from emptying the kernel's buffer: chunks not yet written wait in memory,
//! up to a bound, and only past it does rendering wait for the writes. A
//! write error ends the thread; the next write or flush, or
//! [`WriterThread::finish`], returns it (a reader gone away stays a broken
//! pipe, which ends ipft quietly).

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{Destination, Output};
use crate::event::model::Record;

/// An output whose bytes are written by a [`WriterThread`]: its finish
/// returns once every byte is written.
pub struct Threaded {
    output: Option<Box<dyn Output>>,
    writer: Option<WriterThread>,
}

impl Threaded {
    /// `output` writes to the [`Writer`] that `writer` came with.
    pub fn new(output: Box<dyn Output>, writer: WriterThread) -> Threaded {
        Threaded {
            output: Some(output),
            writer: Some(writer),
        }
    }
}

impl Output for Threaded {
    fn record(&mut self, record: Record) -> io::Result<()> {
        match &mut self.output {
            Some(output) => output.record(record),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.output {
            Some(output) => output.flush(),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        let finished = match self.output.take() {
            Some(mut output) => output.finish(),
            None => Ok(()),
        };
        // The output (and its Writer) is gone: the thread ends once it has written everything.
        let written = match self.writer.take() {
            Some(writer) => writer.finish(),
            None => Ok(()),
        };
        finished.and(written)
    }
}

/// Bytes handed to the thread at once.
const CHUNK: usize = 1 << 16;

/// Written chunks the thread hands back for reuse (more are freed): a new
/// buffer per chunk would cost page faults on every one.
const SPARES: usize = 4;

/// The first write error, kept for the rendering side.
type Failure = Arc<Mutex<Option<(io::ErrorKind, String)>>>;

fn failure_error(failed: &Failure) -> Option<io::Error> {
    let failed = failed.lock().unwrap_or_else(|p| p.into_inner());
    failed
        .as_ref()
        .map(|(kind, text)| io::Error::new(*kind, text.clone()))
}

/// The rendering side: a [`Write`] that hands full chunks (and, at each
/// flush, what it holds) to the writing thread.
pub struct Writer {
    buf: Vec<u8>,
    chunks: Option<SyncSender<Vec<u8>>>,
    spares: Receiver<Vec<u8>>,
    failed: Failure,
}

/// The writing side; [`WriterThread::finish`] waits for every byte to be
/// written once the [`Writer`] is dropped.
pub struct WriterThread {
    thread: Option<JoinHandle<()>>,
    failed: Failure,
}

/// Starts a thread writing to `out`; at most `queued` bytes wait for it
/// (0: every chunk waits until the thread takes it).
pub fn spawn(mut out: Box<dyn Write + Send>, queued: usize) -> io::Result<(Writer, WriterThread)> {
    let (tx, rx) = sync_channel::<Vec<u8>>(queued / CHUNK);
    let (spare_tx, spares) = sync_channel::<Vec<u8>>(SPARES);
    let failed = Failure::default();
    let thread_failed = failed.clone();
    let thread = std::thread::Builder::new()
        .name("ipft-writer".into())
        .spawn(move || {
            let written = rx
                .iter()
                .try_for_each(|mut chunk| {
                    out.write_all(&chunk)?;
                    chunk.clear();
                    let _ = spare_tx.try_send(chunk);
                    Ok(())
                })
                .and_then(|()| out.flush());
            if let Err(e) = written {
                let mut failed = thread_failed.lock().unwrap_or_else(|p| p.into_inner());
                *failed = Some((e.kind(), e.to_string()));
            }
        })?;
    Ok((
        Writer {
            buf: Vec::with_capacity(CHUNK),
            chunks: Some(tx),
            spares,
            failed: failed.clone(),
        },
        WriterThread {
            thread: Some(thread),
            failed,
        },
    ))
}

/// Standard output, as the writing thread's file: written to directly,
/// not line by line through Rust's `Stdout`.
pub fn stdout_file() -> Box<dyn Write + Send> {
    match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(io::stdout()),
    }
}

impl Writer {
    fn send_held(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return failure_error(&self.failed).map_or(Ok(()), Err);
        }
        let next = self.spare();
        let chunk = std::mem::replace(&mut self.buf, next);
        self.send(chunk)
    }

    /// A written chunk back from the thread, or a new one.
    fn spare(&mut self) -> Vec<u8> {
        self.spares
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK))
    }

    fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        if let Some(e) = failure_error(&self.failed) {
            return Err(e);
        }
        let sent = self.chunks.as_ref().map(|tx| tx.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            // The thread ended: it failed (its error says why) or never ran.
            _ => Err(failure_error(&self.failed).unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::BrokenPipe, "the output's writer stopped")
            })),
        }
    }
}

impl Write for Writer {
    /// Takes what fits in the chunk: a chunk never grows past [`CHUNK`], so
    /// every chunk is a spare's size (a larger one would be a fresh buffer,
    /// page faults and all, each time).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() >= CHUNK {
            // Never the case after a hand-over (which leaves a spare), but a
            // full chunk must not make this a zero-length write.
            self.send_held()?;
        }
        let taken = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..taken]);
        if self.buf.len() >= CHUNK {
            self.send_held()?;
        }
        Ok(taken)
    }

    /// Hands over what is held, without waiting for it to be written.
    fn flush(&mut self) -> io::Result<()> {
        self.send_held()
    }
}

impl Destination for Writer {
    /// Sends `buf` itself to the thread (after what this writer holds, to
    /// keep the order) and leaves a spare chunk in its place.
    fn hand_over(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.send_held()?;
        let next = self.spare();
        let chunk = std::mem::replace(buf, next);
        self.send(chunk)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.send_held();
        self.chunks = None;
    }
}

impl WriterThread {
    /// Waits until everything handed over is written; the first write error.
    /// The [`Writer`] must be gone (the thread ends when it is dropped).
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                return Err(io::Error::other("the output's writer failed"));
            }
        }
        failure_error(&self.failed).map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::Shared;

    #[test]
    fn everything_is_written_in_order_by_the_end() {
        let out = Shared::default();
        let (mut w, thread) = spawn(Box::new(out.clone()), 4 * CHUNK).unwrap();
        let mut expected = Vec::new();
        for i in 0..50_000u32 {
            let line = format!("{i}\n");
            w.write_all(line.as_bytes()).unwrap();
            expected.extend_from_slice(line.as_bytes());
        }
        w.flush().unwrap();
        drop(w);
        thread.finish().unwrap();
        assert_eq!(out.bytes(), expected);
    }

    /// Records the size of every write it gets.
    #[derive(Clone, Default)]
    struct Sizes(Arc<Mutex<Vec<usize>>>, Shared);

    impl Write for Sizes {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(b.len());
            self.1.write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn pieces_larger_than_a_chunk_fill_chunks_of_one_size() {
        let out = Sizes::default();
        let (mut w, thread) = spawn(Box::new(out.clone()), 4 * CHUNK).unwrap();
        let piece: Vec<u8> = (0..60 << 10).map(|i| (i % 251) as u8).collect();
        for _ in 0..10 {
            w.write_all(&piece).unwrap();
        }
        drop(w);
        thread.finish().unwrap();
        assert_eq!(out.1.bytes(), piece.repeat(10));
        let sizes = out.0.lock().unwrap();
        assert!(sizes.iter().all(|&n| n <= CHUNK), "{sizes:?}");
        assert_eq!(sizes.iter().filter(|&&n| n == CHUNK).count(), 9);
    }

    #[test]
    fn a_handed_over_buffer_is_written_whole_after_what_was_held() {
        let out = Sizes::default();
        let (mut w, thread) = spawn(Box::new(out.clone()), 4 * CHUNK).unwrap();
        w.write_all(b"held ").unwrap();
        let mut buf = vec![b'x'; 60 << 10];
        Destination::hand_over(&mut w, &mut buf).unwrap();
        assert!(buf.is_empty(), "left empty");
        assert!(buf.capacity() >= CHUNK, "a spare in its place");
        buf.extend_from_slice(b" next");
        Destination::hand_over(&mut w, &mut buf).unwrap();
        drop(w);
        thread.finish().unwrap();
        let mut expected = b"held ".to_vec();
        expected.extend_from_slice(&[b'x'; 60 << 10]);
        expected.extend_from_slice(b" next");
        assert_eq!(out.1.bytes(), expected);
        assert_eq!(
            *out.0.lock().unwrap(),
            [5, 60 << 10, 5],
            "one write per piece"
        );
    }

    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(self.0, "no"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_comes_back_with_its_kind() {
        let (mut w, thread) = spawn(Box::new(Failing(io::ErrorKind::BrokenPipe)), 0).unwrap();
        let mut err = None;
        for _ in 0..1000 {
            if let Err(e) = w.write_all(&[b'x'; 4096]).and_then(|()| w.flush()) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::BrokenPipe));
        drop(w);
        let end = thread.finish().unwrap_err();
        assert_eq!(end.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn an_error_on_the_last_chunk_is_reported_at_the_end() {
        let (mut w, thread) = spawn(Box::new(Failing(io::ErrorKind::StorageFull)), CHUNK).unwrap();
        w.write_all(b"last words").unwrap();
        drop(w);
        assert_eq!(
            thread.finish().unwrap_err().kind(),
            io::ErrorKind::StorageFull
        );
    }
}
