#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine needs to build and test ipft.
# clang-19 compiles bpf/*.bpf.c; llvm-19-dev and libclang-19-dev provide the
# static clang/LLVM libraries linked into ipft (its built-in compiler); autotools, flex, bison and gawk build the
# vendored libelf/libbpf of libbpf-sys; libpcap0.8-dev has the static libpcap that compiles
# pcap-filter expressions; iproute2, nftables and iputils-ping
# are used by the end-to-end tests and the demo; tshark (with capinfos) reads
# the pcapng ipft writes in tests/record.rs.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	clang-19 llvm-19 llvm-19-dev libclang-19-dev linux-libc-dev make pkg-config file \
	autoconf automake autopoint gettext m4 flex bison gawk libtool \
	zlib1g-dev libzstd-dev libpcap0.8-dev \
	iproute2 nftables iputils-ping procps bc bpftool tshark jq
if ! command -v cargo >/dev/null; then
	echo "install-deps.sh: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
	exit 1
fi
