//! Compiles ipft's own BPF programs (`bpf/*.bpf.c`) with clang into `OUT_DIR`,
//! where `src/load/embedded.rs` picks them up with `include_bytes!`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const BPF_OBJECTS: &[&str] = &[
    "tracepoint",
    "kprobe",
    "kprobe_multi",
    "fentry",
    "null_module",
];

fn find_clang() -> String {
    if let Ok(clang) = env::var("BPF_CLANG") {
        return clang;
    }
    for candidate in ["clang-19", "clang"] {
        if Command::new(candidate).arg("--version").output().is_ok() {
            return candidate.to_string();
        }
    }
    panic!("no clang found to build bpf/*.bpf.c: install clang-19 (apt-get install clang-19) or set BPF_CLANG");
}

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let clang = find_clang();
    println!("cargo:rerun-if-env-changed=BPF_CLANG");
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=IPFT_GIT_REV={rev}");
    println!(
        "cargo:rerun-if-changed={}",
        root.join(".git/HEAD").display()
    );
    for entry in ["bpf", "vendor/libbpf/bpf"] {
        println!("cargo:rerun-if-changed={}", root.join(entry).display());
    }
    for name in BPF_OBJECTS {
        let src = root.join("bpf").join(format!("{name}.bpf.c"));
        let obj = out_dir.join(format!("{name}.bpf.o"));
        compile_bpf(&clang, &root, &src, &obj);
    }
}

fn compile_bpf(clang: &str, root: &Path, src: &Path, obj: &Path) {
    let status = Command::new(clang)
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-Wall",
            "-Werror",
            "-D__TARGET_ARCH_x86",
        ])
        .arg("-I")
        .arg(root.join("vendor/libbpf"))
        .arg("-I")
        .arg(root.join("bpf"))
        // asm/ headers of the build host's linux-libc-dev (only for __u32 & co).
        .args(["-idirafter", "/usr/include/x86_64-linux-gnu"])
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(obj)
        .status()
        .unwrap_or_else(|e| panic!("failed to run {clang}: {e}"));
    if !status.success() {
        panic!("{clang} failed to compile {}", src.display());
    }
}
