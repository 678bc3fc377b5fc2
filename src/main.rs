//! ipft: which kernel functions did this packet pass through, in what order?
//!
//! main parses the command line, sets up logging, runs the pipeline in
//! `run.rs` and maps the outcome to an exit code: 0 ok, 1 runtime failure,
//! 2 usage error.

use std::io::Write;
use std::process::ExitCode;

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
                let mut out = std::io::stdout().lock();
                let written = write!(out, "{e}").and_then(|_| out.flush());
                Err(stdout_status(written))
            }
            _ => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("invalid arguments");
                let first = first.trim_start_matches("error: ");
                ipft::say!("ipft: {first} (see ipft --help)");
                Err(ExitCode::from(2))
            }
        },
    }
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

fn main() -> ExitCode {
    // Errors reach the user as one line and never with a backtrace, yet with
    // RUST_BACKTRACE set, anyhow would walk the stack for each error ipft
    // handles itself (a fallback in discovery cost ~0.1 s of `-l`).
    // RUST_LIB_BACKTRACE stops that and leaves panic backtraces alone.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
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
    let written = match &config.mode {
        cli::Mode::Man | cli::Mode::Completions(_) => {
            let mut cmd = cli::Args::command().long_version(version::long());
            let out = &mut std::io::stdout();
            match config.mode {
                cli::Mode::Completions(shell) => {
                    // clap_complete panics on a write error: generate in memory first.
                    let mut script = Vec::new();
                    clap_complete::generate(shell, &mut cmd, "ipft", &mut script);
                    out.write_all(&script)
                }
                _ => clap_mangen::Man::new(cmd).render(out),
            }
        }
        cli::Mode::Gen(cli::GenTarget::BpfModuleHeader) => {
            std::io::stdout().write_all(ext::HEADER.as_bytes())
        }
        cli::Mode::Gen(cli::GenTarget::BpfModuleSkeleton) => {
            std::io::stdout().write_all(ext::skeleton().as_bytes())
        }
        cli::Mode::EmitObject(out) => {
            let src = config.extension.as_deref().unwrap_or(out);
            let written = ext::Extension::open(src).and_then(|e| {
                std::fs::write(out, &e.object)
                    .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", out.display()))
            });
            return match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    ipft::say!("ipft: {e:#}");
                    ExitCode::from(1)
                }
            };
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
