//! Build steps that are not Rust:
//! 1. ipft's own BPF programs (`bpf/*.bpf.c`), compiled with clang into
//!    `OUT_DIR` for `src/load/embedded.rs`;
//! 2. the headers served to extensions, zstd-compressed into
//!    `OUT_DIR/embedded-headers/` for `src/compile/headers.rs`;
//! 3. the C++ compiler shim (`src/compile/shim/`), linked with Debian's static
//!    clang/LLVM 19 libraries;
//! 4. Debian's static libpcap, for pcap-filter expressions (`src/filter/`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const BPF_OBJECTS: &[&str] = &[
    "tracepoint",
    "kprobe",
    "kprobe_multi",
    "kprobe_multi_cast",
    "fentry",
    "null_module",
    "null_filter",
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
    // HEAD names the branch; a commit changes the branch's ref (or packed-refs).
    println!(
        "cargo:rerun-if-changed={}",
        root.join(".git/HEAD").display()
    );
    if let Ok(head) = std::fs::read_to_string(root.join(".git/HEAD")) {
        if let Some(reference) = head.trim().strip_prefix("ref: ") {
            println!(
                "cargo:rerun-if-changed={}",
                root.join(".git").join(reference).display()
            );
            println!(
                "cargo:rerun-if-changed={}",
                root.join(".git/packed-refs").display()
            );
        }
    }
    for entry in ["bpf", "vendor/libbpf/bpf"] {
        println!("cargo:rerun-if-changed={}", root.join(entry).display());
    }
    for name in BPF_OBJECTS {
        let src = root.join("bpf").join(format!("{name}.bpf.c"));
        let obj = out_dir.join(format!("{name}.bpf.o"));
        compile_bpf(&clang, &root, &src, &obj);
    }
    pack_headers(&root, &out_dir);
    build_shim(&root);
    link_libpcap(&root);
}

/// libpcap compiles pcap-filter expressions to cBPF (`src/filter/`): Debian's
/// static `libpcap.a` (libpcap0.8-dev), with stubs for the D-Bus functions
/// its D-Bus capture source refers to (ipft never opens a capture).
fn link_libpcap(root: &Path) {
    let stubs = root.join("src/filter/dbus_stubs.c");
    println!("cargo:rerun-if-changed={}", stubs.display());
    cc::Build::new().file(&stubs).compile("ipft_dbus_stubs");
    let dir = env::var("LIBPCAP_DIR").unwrap_or_else(|_| "/usr/lib/x86_64-linux-gnu".into());
    println!("cargo:rerun-if-env-changed=LIBPCAP_DIR");
    if !Path::new(&dir).join("libpcap.a").exists() {
        panic!("{dir}/libpcap.a not found: install libpcap0.8-dev (make deps) or set LIBPCAP_DIR");
    }
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-lib=static=pcap");
}

/// (source directory, virtual directory) of every header tree extensions see.
/// Earlier entries win: ipft's own asm/ replaces nothing but must come first.
const HEADER_TREES: &[(&str, &str)] = &[
    ("headers", "include"),
    ("vendor/libbpf", "include"),
    ("vendor/linux-uapi", "include"),
    ("vendor/clang/include", "clang/include"),
];

fn pack_headers(root: &Path, out_dir: &Path) {
    let dest = out_dir.join("embedded-headers");
    let _ = std::fs::remove_dir_all(&dest);
    for (src, virt) in HEADER_TREES {
        let src = root.join(src);
        println!("cargo:rerun-if-changed={}", src.display());
        for file in walk(&src)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "h"))
        {
            let rel = file.strip_prefix(&src).unwrap();
            let target = dest.join(virt).join(format!("{}.zst", rel.display()));
            if target.exists() {
                continue;
            }
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            let data = std::fs::read(&file).unwrap();
            std::fs::write(&target, zstd::encode_all(&data[..], 19).unwrap()).unwrap();
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn llvm_config(args: &[&str]) -> String {
    let llvm_config =
        env::var("LLVM_CONFIG").unwrap_or_else(|_| "/usr/lib/llvm-19/bin/llvm-config".into());
    let out = Command::new(&llvm_config).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {llvm_config}: {e}; install llvm-19-dev and libclang-19-dev (make deps) or set LLVM_CONFIG")
    });
    assert!(out.status.success(), "{llvm_config} {args:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// clang libraries the shim needs, in link order.
const CLANG_LIBS: &[&str] = &[
    "clangCodeGen",
    "clangFrontend",
    "clangDriver",
    "clangSerialization",
    "clangParse",
    "clangSema",
    "clangAnalysis",
    "clangASTMatchers",
    "clangAPINotes",
    "clangEdit",
    "clangAST",
    "clangLex",
    "clangBasic",
    "clangSupport",
];

/// LLVM components: the BPF target and what clang's code generator pulls in.
const LLVM_COMPONENTS: &[&str] = &[
    "bpfcodegen",
    "bpfasmparser",
    "bpfdesc",
    "bpfinfo",
    "option",
    "passes",
    "coverage",
    "frontendopenmp",
    "frontenddriver",
    "frontendhlsl",
    "lto",
    "windowsdriver",
    "irreader",
    "bitwriter",
];

fn build_shim(root: &Path) {
    println!("cargo:rerun-if-env-changed=LLVM_CONFIG");
    let shim = root.join("src/compile/shim");
    println!("cargo:rerun-if-changed={}", shim.display());
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .file(shim.join("shim.cpp"))
        .cpp_link_stdlib(None)
        .define("NDEBUG", None);
    for flag in llvm_config(&["--cxxflags"]).split_whitespace() {
        build.flag(flag);
    }
    build.flag("-Wno-unused-parameter").compile("ipft_shim");
    cc::Build::new()
        .file(shim.join("vmlinux.c"))
        .compile("ipft_vmlinux");

    println!(
        "cargo:rustc-env=IPFT_LLVM_VERSION={}",
        llvm_config(&["--version"])
    );
    println!(
        "cargo:rustc-link-search=native={}",
        llvm_config(&["--libdir"])
    );
    for lib in CLANG_LIBS {
        println!("cargo:rustc-link-lib=static={lib}");
    }
    let mut args = vec!["--link-static", "--libs"];
    args.extend(LLVM_COMPONENTS);
    for lib in llvm_config(&args).split_whitespace() {
        let lib = lib.trim_start_matches("-l");
        // Polly is replaced by a stub in the shim.
        if !lib.starts_with("Polly") {
            println!("cargo:rustc-link-lib=static={lib}");
        }
    }
    // LLVM's compression support; zstd-sys's bundled copy does not provide
    // the symbols LLVM was built against, Debian's static libzstd does.
    println!("cargo:rustc-link-search=native=/usr/lib/x86_64-linux-gnu");
    println!("cargo:rustc-link-lib=static=zstd");
    println!("cargo:rustc-link-lib=static=z");
    println!("cargo:rustc-link-lib=static:-bundle=stdc++");
}

fn compile_bpf(clang: &str, root: &Path, src: &Path, obj: &Path) {
    let status = Command::new(clang)
        .args([
            "-target",
            "bpf",
            // 32-bit ALU and jumps (Linux 5.1+): no zero-extending shift
            // pairs around every 32-bit value on the hot path.
            "-mcpu=v3",
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
