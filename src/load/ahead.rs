//! # Loading ahead
//!
//! The first half of loading (linking, compiling the filter expression,
//! libbpf's read of kernel BTF, CO-RE relocations, creating the maps)
//! depends on the command line, not on what discovery finds. Where the
//! backend is all but certain (kprobe-multi: no `-b` or `-b kprobe-multi`, a
//! kprobe PMU, a kernel with fprobe), it runs on a thread of its own while
//! discovery still reads kallsyms and tracefs. The session takes the
//! prepared object only if it is exactly what it would have loaded: the same
//! backend object and the same [`LoadConfig`]; otherwise it loads as before.
//! What discovery decides (the cookie table, which programs load) is written
//! into the prepared object afterwards.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use libbpf_rs::{AsRawLibbpf, OpenObject};

use super::{embedded, LoadConfig};
use crate::attach::ProgramFeatures;
use crate::cli::{BackendKind, Config, Mode, Tracer};
use crate::discover::{KernelFunctions, FPROBE_FUNCTION};
use crate::filter::PacketFilter;

/// Where the kernel offers kprobes to perf and BPF.
const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";

/// An object being prepared ahead, on its thread.
pub struct Ahead {
    config: LoadConfig,
    thread: JoinHandle<Prepared>,
}

/// What the thread leaves for the session.
struct Prepared {
    /// The filter expression compiled (when one was given).
    filter_object: Option<Result<Vec<u8>>>,
    object: Result<Sendable, String>,
}

/// A linked, opened and prepared object.
pub struct Object {
    /// The backend object it was linked from.
    backend: &'static [u8],
    linked: Vec<u8>,
    open: OpenObject,
    /// Programs relocated by the preparation: only these can still load.
    prepared_programs: Vec<String>,
}

/// An `OpenObject` moved from the thread that prepared it: libbpf objects
/// are not tied to a thread, and only one thread uses it at a time.
struct Sendable(Object);
// SAFETY: see above; the object is used by the preparing thread, then
// handed over through the join and never shared.
unsafe impl Send for Sendable {}

/// What the session gets back.
pub struct Taken {
    /// The filter expression's object, compiled on the thread.
    pub filter_object: Option<Result<Vec<u8>>>,
    /// The prepared object, if it is what the session would load.
    pub object: Option<Object>,
}

impl Object {
    /// Lets `adjust` set what discovery decided, then loads: the linked
    /// object and the loaded one. Fails if `adjust` turned on a program
    /// the preparation skipped (libbpf relocates only those set to load).
    pub fn load(
        self,
        adjust: impl FnOnce(&mut OpenObject) -> Result<()>,
    ) -> Result<(Vec<u8>, libbpf_rs::Object)> {
        let prepared = self.prepared_programs;
        let obj = super::finish(self.open, |open| {
            adjust(open)?;
            for prog in open.progs() {
                let name = prog.name().to_string_lossy();
                if prog.autoload() && !prepared.iter().any(|p| *p == name) {
                    return Err(anyhow!("program {name} was not prepared ahead"));
                }
            }
            Ok(())
        })?;
        Ok((self.linked, obj))
    }
}

impl Ahead {
    /// Starts preparing the kprobe-multi object if the trace will most
    /// likely use it.
    pub fn start(
        config: &Config,
        extension: Option<(String, Vec<u8>)>,
        functions: KernelFunctions,
        programs: ProgramFeatures,
    ) -> Option<Ahead> {
        let fields = config.fields(Default::default());
        let likely = config.mode == Mode::Trace
            && matches!(config.backend, None | Some(BackendKind::KprobeMulti))
            && config.tracer == Tracer::Function
            && !fields.drop
            && Path::new(KPROBE_PMU).exists();
        if !likely {
            return None;
        }
        let kind = BackendKind::KprobeMulti;
        let load_config = LoadConfig::for_trace(config, fields, kind, programs, None);
        let filter = config.filter.clone();
        let thread = std::thread::Builder::new()
            .name("ipft-load-ahead".into())
            .spawn(move || prepare(kind, load_config, extension, filter, functions))
            .map_err(|e| log::debug!("nothing is loaded ahead: no thread could start ({e})"))
            .ok()?;
        Some(Ahead {
            config: load_config,
            thread,
        })
    }

    /// Waits for the thread. The prepared object comes back if it was
    /// linked from `object` and configured as `config`.
    pub fn take(self, object: &'static [u8], config: &LoadConfig) -> Taken {
        let waited = Instant::now();
        let Ok(prepared) = self.thread.join() else {
            log::debug!("loading ahead failed: its thread panicked");
            return Taken {
                filter_object: None,
                object: None,
            };
        };
        let fits = |o: &Object| {
            if self.config != *config {
                Err(format!(
                    "another configuration ({config:?} here, {:?} ahead)",
                    self.config
                ))
            } else if std::ptr::eq(o.backend, object) {
                Ok(())
            } else {
                Err("another backend object".to_string())
            }
        };
        let object = match prepared.object {
            Ok(Sendable(o)) => match fits(&o) {
                Ok(()) => {
                    log::debug!(
                        "BPF object prepared ahead taken (waited {:.3}s for it)",
                        waited.elapsed().as_secs_f64()
                    );
                    Some(o)
                }
                Err(why) => {
                    log::debug!("BPF object prepared ahead not used: {why}");
                    None
                }
            },
            Err(why) => {
                log::debug!("nothing was prepared ahead: {why}");
                None
            }
        };
        Taken {
            filter_object: prepared.filter_object,
            object,
        }
    }
}

/// The thread: compile the filter, check for fprobe, prepare the object.
fn prepare(
    kind: BackendKind,
    config: LoadConfig,
    extension: Option<(String, Vec<u8>)>,
    filter: Option<PacketFilter>,
    functions: KernelFunctions,
) -> Prepared {
    let started = Instant::now();
    let filter_object = filter.as_ref().map(PacketFilter::object);
    if !functions.fprobe {
        return Prepared {
            filter_object,
            object: Err(format!("the kernel has no fprobe ({FPROBE_FUNCTION})")),
        };
    }
    // Chosen by BTF, as libbpf resolves the kfunc: no refused attempt, no
    // libbpf warnings. The session checks that discovery chose the same.
    let backend = if functions.rdonly_cast {
        embedded::KPROBE_MULTI_CAST
    } else {
        embedded::KPROBE_MULTI
    };
    let object = prepare_object(kind, backend, &config, extension, filter_object.as_ref());
    if object.is_ok() {
        log::debug!(
            "BPF object linked and prepared ahead in {:.3}s",
            started.elapsed().as_secs_f64()
        );
    }
    Prepared {
        filter_object,
        object,
    }
}

/// Links, opens and prepares `backend` with the extension and filter.
fn prepare_object(
    kind: BackendKind,
    backend: &'static [u8],
    config: &LoadConfig,
    extension: Option<(String, Vec<u8>)>,
    filter_object: Option<&Result<Vec<u8>>>,
) -> Result<Sendable, String> {
    let filter = match filter_object {
        Some(Ok(object)) => Some(object.as_slice()),
        Some(Err(_)) => return Err("the filter expression did not compile".into()),
        None => None,
    };
    let extension = extension
        .as_ref()
        .map(|(name, object)| (name.as_str(), object.as_slice()));
    let (linked, open, prepared_programs) =
        prepare_one(kind, backend, config, extension, filter).map_err(|e| format!("{e:#}"))?;
    Ok(Sendable(Object {
        backend,
        linked,
        open,
        prepared_programs,
    }))
}

fn prepare_one(
    kind: BackendKind,
    backend: &'static [u8],
    config: &LoadConfig,
    extension: Option<(&str, &[u8])>,
    filter: Option<&[u8]>,
) -> Result<(Vec<u8>, OpenObject, Vec<String>)> {
    let linked = super::link_trace(kind, backend, extension, filter)?;
    let open = super::open(&linked, config)?;
    let programs = open
        .progs()
        .filter(|p| p.autoload())
        .map(|p| p.name().to_string_lossy().into_owned())
        .collect();
    // SAFETY: a valid, opened and not yet loaded object.
    let err = unsafe { libbpf_sys::bpf_object__prepare(open.as_libbpf_object().as_ptr()) };
    if err != 0 {
        return Err(std::io::Error::from_raw_os_error(-err))
            .context("libbpf could not prepare the BPF object");
    }
    Ok((linked, open, programs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use libbpf_rs::MapCore;

    /// Root and kernel BTF, or a printed reason (a failure under
    /// IPFT_TEST_STRICT=1).
    fn can_load(test: &str) -> bool {
        // SAFETY: geteuid has no preconditions.
        let missing = if unsafe { libc::geteuid() } != 0 {
            "needs root"
        } else if !Path::new("/sys/kernel/btf/vmlinux").exists() {
            "needs kernel BTF"
        } else {
            return true;
        };
        assert!(
            std::env::var("IPFT_TEST_STRICT").as_deref() != Ok("1"),
            "{test}: {missing} (IPFT_TEST_STRICT=1)"
        );
        eprintln!("SKIP {test}: {missing}");
        false
    }

    fn config(mark: u32) -> LoadConfig {
        LoadConfig {
            mark,
            mask: u32::MAX,
            use_ringbuf: true,
            ring_size: 1 << 16,
            ring_wakeup: 1 << 13,
            pair_exits: false,
            track: true,
            track_map_size: 1024,
            watch_heads: false,
            idle_ns: 1_000_000_000,
            snaplen: 0,
            atomic_ids: true,
            use_mark: true,
            use_pcap: false,
            pcap_window: 128,
            netns: 0,
            ifindex: 0,
            meta: false,
            meta_dev: false,
            meta_tuple: false,
            drop_word: 0,
            drop_has_reason: false,
        }
    }

    /// The kprobe-multi object this kernel loads (as the session picks it).
    fn kprobe_multi_object() -> &'static [u8] {
        let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
        let btf = crate::btf::Btf::parse(&vmlinux).unwrap();
        match btf.has_functions([crate::discover::RDONLY_CAST]) {
            [true] => embedded::KPROBE_MULTI_CAST,
            [false] => embedded::KPROBE_MULTI,
        }
    }

    fn prepared(config: LoadConfig) -> Ahead {
        let thread = std::thread::spawn(move || Prepared {
            filter_object: None,
            object: prepare_object(
                BackendKind::KprobeMulti,
                kprobe_multi_object(),
                &config,
                None,
                None,
            ),
        });
        Ahead { config, thread }
    }

    #[test]
    fn a_prepared_object_loads_with_what_discovery_decided() {
        if !can_load("a_prepared_object_loads_with_what_discovery_decided") {
            return;
        }
        let taken = prepared(config(7)).take(kprobe_multi_object(), &config(7));
        let object = taken.object.expect("the kprobe-multi object prepares");
        // Written after the maps exist: it must reach the kernel's copy.
        let pattern = [0x5au8; 16];
        let (_, loaded) = object
            .load(|open| {
                let mut map = open
                    .maps_mut()
                    .find(|m| m.name().to_string_lossy().ends_with(".data.kmulti"))
                    .expect("the cookie table");
                let table = map.initial_value_mut().expect("mapped after preparing");
                table[16..32].copy_from_slice(&pattern);
                for mut prog in open.progs_mut() {
                    if prog.name() != "ipft_kmulti" {
                        prog.set_autoload(false);
                    }
                }
                Ok(())
            })
            .expect("the prepared object loads");
        let map = loaded
            .maps()
            .find(|m| m.name().to_string_lossy().ends_with(".data.kmulti"))
            .expect("the cookie table");
        let value = map
            .lookup(&0u32.to_ne_bytes(), libbpf_rs::MapFlags::ANY)
            .unwrap()
            .unwrap();
        assert_eq!(value[16..32], pattern);
        assert_eq!(value[..16], [0; 16]);
        let loaded_programs: Vec<String> = loaded
            .progs()
            .filter(|p| p.autoload())
            .map(|p| p.name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(loaded_programs, ["ipft_kmulti"]);
    }

    #[test]
    fn an_object_prepared_for_another_configuration_is_not_taken() {
        if !can_load("an_object_prepared_for_another_configuration_is_not_taken") {
            return;
        }
        let other_mark = prepared(config(7)).take(kprobe_multi_object(), &config(8));
        assert!(other_mark.object.is_none());
        let other_backend = prepared(config(7)).take(embedded::TRACEPOINT, &config(7));
        assert!(other_backend.object.is_none());
    }
}
