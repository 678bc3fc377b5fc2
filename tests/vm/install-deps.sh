#!/bin/bash
# Install what the guest test harness (tests/vm/run) needs on a Debian 12 machine:
# QEMU (TCG is enough), busybox-static for the initramfs, cpio/kmod/xz/zstd to pack it and its
# kernel modules, gcc + libc6-dev to build the static sendmark helper. Also adds
# bookworm-backports to the apt sources, where Debian's 6.12 kernel lives. Idempotent; run as root.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: run as root" >&2
	exit 1
fi

# bookworm-backports: same mirror as the machine's bookworm entry (deb.debian.org by default).
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	uri=$(grep -rhs '^URIs: .*/debian$' /etc/apt/sources.list.d/*.sources | head -n1 | cut -d' ' -f2)
	cat >/etc/apt/sources.list.d/bookworm-backports.sources <<SRC
Types: deb
URIs: ${uri:-http://deb.debian.org/debian}
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	echo "install-deps.sh: added /etc/apt/sources.list.d/bookworm-backports.sources"
fi

apt-get update -q
# QEMU from bookworm unless qemu-utils already came from backports (it Breaks the older
# qemu-system-common then): follow the installed one.
qemu_release=()
if dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q '~bpo12'; then
	qemu_release=(-t bookworm-backports)
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${qemu_release[@]}" qemu-system-x86
apt-get install -y -q --no-install-recommends \
	busybox-static cpio kmod xz-utils zstd gcc libc6-dev coreutils
