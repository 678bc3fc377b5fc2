#!/usr/bin/env bash
# Refreshes the third-party headers that ipft embeds for compiling extensions
# on hosts without any headers. Copies files verbatim from Debian packages of
# the build host and records where they came from in vendor/*/ORIGIN.
#   libbpf/      libbpf's BPF-side headers, from the vendored libbpf-sys crate
#   linux-uapi/  the Linux UAPI subset extensions use, from linux-libc-dev
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

uapi=(linux/types.h linux/posix_types.h linux/stddef.h linux/bpf.h linux/bpf_common.h
	linux/if_ether.h linux/ip.h linux/ipv6.h linux/in.h linux/in6.h linux/tcp.h linux/udp.h
	linux/icmpv6.h linux/socket.h linux/libc-compat.h linux/swab.h
	linux/byteorder/little_endian.h linux/if_vlan.h linux/erspan.h
	asm-generic/types.h asm-generic/int-ll64.h asm-generic/bitsperlong.h asm-generic/posix_types.h)
rm -rf linux-uapi/linux linux-uapi/asm-generic
for f in "${uapi[@]}"; do
	mkdir -p "linux-uapi/$(dirname "$f")"
	cp "/usr/include/$f" "linux-uapi/$f"
done
cp /usr/share/doc/linux-libc-dev/copyright linux-uapi/COPYRIGHT
echo "linux-libc-dev $(dpkg-query -W -f='${Version}' linux-libc-dev) (Debian), /usr/include" >linux-uapi/ORIGIN

res=/usr/lib/llvm-19/lib/clang/19/include
rm -rf clang/include
mkdir -p clang/include
for f in stddef.h stdint.h stdbool.h stdarg.h limits.h stdalign.h float.h stdnoreturn.h \
	__stddef_*.h __stdarg_*.h; do
	cp $res/$f clang/include/
done
cp /usr/share/doc/libclang-common-19-dev/copyright clang/COPYRIGHT
echo "libclang-common-19-dev $(dpkg-query -W -f='${Version}' libclang-common-19-dev) (Debian), $res" >clang/ORIGIN
