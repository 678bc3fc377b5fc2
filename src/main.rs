//! ipft: which kernel functions did this packet pass through, in what order?
//!
//! main parses the command line, sets up logging, runs the pipeline in
//! `run.rs` and maps the outcome to an exit code: 0 ok, 1 runtime failure,
//! 2 usage error.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{CommandFactory, FromArgMatches};
use ipft::{cli, compile, ext, logger, run, version};

fn parse_args() -> Result<cli::Args, ExitCode> {
    let cmd = cli::Args::command().long_version(version::long());
    let parsed = cmd
        .try_get_matches()
        .and_then(|m| cli::Args::from_arg_matches(&m));
    match parsed {
        Ok(args) => Ok(args),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                if STDOUT_CLOSED.load(Ordering::Relaxed) {
                    return Err(stdout_closed());
                }
                let mut out = std::io::stdout().lock();
                let written = write!(out, "{e}").and_then(|_| out.flush());
                Err(stdout_status(written))
            }
            _ => {
                ipft::say!("{}", usage_message(&e.to_string()));
                Err(ExitCode::from(2))
            }
        },
    }
}

/// clap's whole message (what is missing or wrong, the possible values, a
/// "did you mean", its usage line and `--help` pointer), as ipft's other
/// errors: `ipft: ` in place of clap's `error: `, no trailing blank line.
fn usage_message(clap_text: &str) -> String {
    let text = clap_text.trim_end();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    format!("ipft: {text}")
}

/// `--gen-headers DIR`: the headers, then the flags that use them on stdout.
fn gen_headers(dir: &std::path::Path) -> ExitCode {
    if let Err(e) = compile::write_headers(dir) {
        ipft::say!("ipft: {e:#}");
        return ExitCode::from(1);
    }
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let flags: Vec<String> = compile::clang_flags(&dir)
        .iter()
        .map(|f| {
            let f = f.to_string_lossy();
            shlex::try_quote(&f).map_or_else(|_| f.to_string(), |q| q.into_owned())
        })
        .collect();
    let mut out = std::io::stdout();
    stdout_status(writeln!(out, "{}", flags.join(" ")).and_then(|_| out.flush()))
}

fn stdout_closed() -> ExitCode {
    ipft::say!("ipft: standard output is closed, so the output would be lost: redirect it (e.g. >/dev/null, or -w FILE to record)");
    ExitCode::from(1)
}

/// A reader that went away (`| head`) is fine; any other write error is exit 1.
fn stdout_status(written: std::io::Result<()>) -> ExitCode {
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            ipft::say!("ipft: cannot write to stdout: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--emit-object PATH`: compile and check the extension, write its object
/// to PATH, or to stdout for `-` (never to a terminal).
fn emit_object(src: Option<&std::path::Path>, lua: bool, out: &std::path::Path) -> ExitCode {
    let to_stdout = out == std::path::Path::new("-");
    if to_stdout && std::io::stdout().is_terminal() {
        ipft::say!(
            "ipft: --emit-object - writes a binary BPF object to stdout, which is a terminal: \
             redirect it (--emit-object - > ext.o) or give a file name"
        );
        return ExitCode::from(2);
    }
    let Some(src) = src else {
        // clap's `requires` makes -e present; this is only a guard.
        ipft::say!("ipft: --emit-object needs -e/--extension <PATH> (see ipft --help)");
        return ExitCode::from(2);
    };
    let object = match ext::Extension::open(src, lua) {
        Ok(e) => e.object,
        Err(e) => {
            ipft::say!("ipft: {e:#}");
            return ExitCode::from(1);
        }
    };
    if to_stdout {
        let mut stdout = std::io::stdout().lock();
        return stdout_status(stdout.write_all(&object).and_then(|_| stdout.flush()));
    }
    match std::fs::write(out, &object) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ipft::say!("ipft: cannot write {}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}

/// Standard output was closed when ipft started (`ipft >&-`). Rust's runtime
/// reopens fds 0-2 on /dev/null before `main`, which would turn every write
/// into a silent success; this constructor runs before that and remembers.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

extern "C" fn check_stdout_open() {
    // SAFETY: F_GETFD only asks whether descriptor 1 is open.
    if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

#[used]
#[link_section = ".init_array"]
static CHECK_STDOUT_OPEN: extern "C" fn() = check_stdout_open;

fn main() -> ExitCode {
    ipft::STARTED.get_or_init(std::time::Instant::now);
    ipft::memory::one_arena();
    // Errors reach the user as one line and never with a backtrace, yet with
    // RUST_BACKTRACE set, anyhow would walk the stack for each error ipft
    // handles itself (a fallback in discovery cost ~0.1 s of `-l`).
    // RUST_LIB_BACKTRACE stops that and leaves panic backtraces alone.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let mut argv = std::env::args_os().skip(1);
    if argv.next().as_deref() == Some(std::ffi::OsStr::new(ipft::detach::HELPER_ARG)) {
        let list = argv.next().unwrap_or_default();
        return ipft::detach::helper(&list.to_string_lossy());
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let verbose = args.verbose;
    logger::init(verbose);
    let config = match args.into_config() {
        Ok(config) => config,
        Err(e) => {
            ipft::say!("ipft: {e} (see ipft --help)");
            return ExitCode::from(2);
        }
    };
    compile::set_limits(config.compile_limits);
    let writes_stdout = match &config.mode {
        cli::Mode::EmitObject(path) => path.as_os_str() == "-",
        _ => true,
    };
    if writes_stdout && STDOUT_CLOSED.load(Ordering::Relaxed) {
        return stdout_closed();
    }
    let written = match &config.mode {
        cli::Mode::Man | cli::Mode::Completions(_) => {
            let cmd = cli::Args::command().long_version(version::long());
            let out = &mut std::io::stdout();
            match config.mode {
                cli::Mode::Completions(shell) => {
                    // clap_complete panics on a write error: generate in memory first.
                    let mut script = Vec::new();
                    clap_complete::generate(
                        shell,
                        &mut ipft::man::visible(&cmd),
                        "ipft",
                        &mut script,
                    );
                    out.write_all(&script)
                }
                _ => ipft::man::render(cmd, out),
            }
        }
        cli::Mode::Gen(cli::GenTarget::BpfModuleHeader) => {
            std::io::stdout().write_all(ext::HEADER.as_bytes())
        }
        cli::Mode::Gen(cli::GenTarget::BpfModuleSkeleton) => {
            std::io::stdout().write_all(ext::skeleton().as_bytes())
        }
        cli::Mode::GenHeaders(dir) => return gen_headers(dir),
        cli::Mode::EmitObject(out) => {
            return emit_object(config.extension.as_deref(), config.lua, out)
        }
        cli::Mode::Trace | cli::Mode::List | cli::Mode::Read(_) => Ok(()),
    };
    if !matches!(
        config.mode,
        cli::Mode::Trace | cli::Mode::List | cli::Mode::Read(_)
    ) {
        return stdout_status(written.and_then(|_| std::io::stdout().flush()));
    }
    match run::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ipft::say!("ipft: {e:#}");
            ExitCode::from(1)
        }
    }
}
