#!/usr/bin/env python3
"""Write THIRD-PARTY-CRATES.txt: the Rust crates linked into the ipft binary.

Usage: third-party.py OUTPUT

Walks `cargo metadata` from the ipft package over normal (not build or dev)
dependencies for the release target, leaves out proc-macro crates (they run
in the compiler and are not part of the binary), and writes for each crate
its name, version, licence expression and the text of the licence files it
ships. The Rust standard library's licence texts are added when the
toolchain has them.
"""

import json
import os
import subprocess
import sys

TARGET = "x86_64-unknown-linux-gnu"
LICENCE_PREFIXES = ("license", "licence", "copying", "notice", "copyright", "unlicense")


def licence_files(pkg):
    root = os.path.dirname(pkg["manifest_path"])
    found = []
    if pkg.get("license_file"):
        found.append(os.path.join(root, pkg["license_file"]))
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.lower().startswith(LICENCE_PREFIXES) and os.path.isfile(path):
            if path not in found:
                found.append(path)
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: third-party.py OUTPUT")
    out_path = sys.argv[1]
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked",
         "--filter-platform", TARGET],
        check=True, stdout=subprocess.PIPE).stdout)

    pkgs = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"] or next(
        p["id"] for p in meta["packages"] if p["name"] == "ipft")

    def is_proc_macro(pkg):
        return {k for t in pkg["targets"] for k in t["kind"]} == {"proc-macro"}

    # A proc-macro's own dependencies run in the compiler too: do not follow them.
    seen, todo = set(), [root]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            normal = any(k["kind"] is None for k in dep["dep_kinds"])
            if normal and dep["pkg"] not in seen and not is_proc_macro(pkgs[dep["pkg"]]):
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])

    linked = sorted((pkgs[pid] for pid in seen), key=lambda p: (p["name"], p["version"]))

    with open(out_path, "w", encoding="utf-8") as out:
        out.write("Rust crates compiled into /usr/bin/ipft\n")
        out.write("=======================================\n\n")
        for pkg in linked:
            out.write(f"{pkg['name']} {pkg['version']}: {pkg.get('license') or 'see licence files'}\n")
        out.write("\nThe Rust standard library: MIT OR Apache-2.0\n")

        for pkg in linked:
            files = licence_files(pkg)
            out.write(f"\n\n######## {pkg['name']} {pkg['version']} "
                      f"({pkg.get('license') or 'see below'})\n")
            if not files:
                out.write("(the crate ships no licence file; its licence is the SPDX "
                          "expression above)\n")
            for path in files:
                out.write(f"\n---- {os.path.basename(path)}\n\n")
                with open(path, encoding="utf-8", errors="replace") as f:
                    out.write(f.read().rstrip() + "\n")

        sysroot = subprocess.run(["rustc", "--print", "sysroot"], check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.strip()
        licdir = os.path.join(sysroot, "share", "doc", "rust", "licenses")
        std_files = [os.path.join(licdir, n) for n in ("MIT.txt", "Apache-2.0.txt")]
        if all(os.path.isfile(p) for p in std_files):
            out.write("\n\n######## Rust standard library (MIT OR Apache-2.0)\n")
            for path in std_files:
                out.write(f"\n---- {os.path.basename(path)}\n\n")
                with open(path, encoding="utf-8", errors="replace") as f:
                    out.write(f.read().rstrip() + "\n")

    print(f"{out_path}: {len(linked)} crates")


if __name__ == "__main__":
    main()
