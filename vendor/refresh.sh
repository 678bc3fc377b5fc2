#!/usr/bin/env bash
# Refreshes the third-party headers that ipft embeds for compiling extensions
# on hosts without any headers. Copies files verbatim from Debian packages of
# the build host and records where they came from in vendor/*/ORIGIN.
#   libbpf/      libbpf's BPF-side headers, from the vendored libbpf-sys crate
#   linux-uapi/  the Linux UAPI (linux/, asm-generic/, x86 asm/), from linux-libc-dev
#   clang/       clang's freestanding resource headers, from libclang-common-19-dev
set -euo pipefail
cd "$(dirname "$0")"

libbpf_src=$(ls -d ~/.cargo/registry/src/*/libbpf-sys-*/libbpf 2>/dev/null | sort -V | tail -n 1)
if [ -n "$libbpf_src" ]; then
	mkdir -p libbpf/bpf
	for f in bpf_helpers.h bpf_helper_defs.h bpf_core_read.h bpf_tracing.h bpf_endian.h; do
		cp "$libbpf_src/src/$f" libbpf/bpf/
	done
	cp "$libbpf_src"/LICENSE* libbpf/
	echo "libbpf $(basename "$(dirname "$libbpf_src")") (crates.io libbpf-sys, its libbpf/ submodule)" >libbpf/ORIGIN
fi

# The whole UAPI an extension may include: every linux/ header (networking,
# netfilter, pkt_cls.h, if_*.h, icmp*.h, ...), asm-generic/, and x86's asm/
# (ipft's own headers/asm/ replace the few that assume an x86 compiler).
rm -rf linux-uapi/linux linux-uapi/asm-generic linux-uapi/asm
cp -r /usr/include/linux linux-uapi/linux
cp -r /usr/include/asm-generic linux-uapi/asm-generic
cp -r /usr/include/x86_64-linux-gnu/asm linux-uapi/asm
cp /usr/share/doc/linux-libc-dev/copyright linux-uapi/COPYRIGHT
echo "linux-libc-dev $(dpkg-query -W -f='${Version}' linux-libc-dev) (Debian), /usr/include (linux/, asm-generic/) and /usr/include/x86_64-linux-gnu/asm" >linux-uapi/ORIGIN

res=/usr/lib/llvm-19/lib/clang/19/include
rm -rf clang/include
mkdir -p clang/include
for f in stddef.h stdint.h stdbool.h stdarg.h limits.h stdalign.h float.h stdnoreturn.h \
	__stddef_*.h __stdarg_*.h; do
	cp $res/$f clang/include/
done
cp /usr/share/doc/libclang-common-19-dev/copyright clang/COPYRIGHT
echo "libclang-common-19-dev $(dpkg-query -W -f='${Version}' libclang-common-19-dev) (Debian), $res" >clang/ORIGIN
