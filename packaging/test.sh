#!/usr/bin/env bash
# Install-test the packages that packaging/build.sh left in target/packaging/ (run as root).
#
#   sudo packaging/test.sh
#
# .deb: lintian (no error, no warning but those packaging/lintian-overrides keeps); dpkg -i;
# run the installed binary (--version, --gen bpf-module-header, -l), read the man page, load
# the bash completion, check the binary is static; dpkg -r and -P, and check that nothing it
# installed is left. .rpm: rpmlint (no error, no warning but those packaging/rpmlint.toml
# keeps) where the archive has it; inspect with Debian's rpm tool (metadata, file list, modes).
# Stops at the first failure with a message saying what is wrong; ends with a summary.
# Installs man-db, rpm, file, lintian and rpmlint with apt-get when they are missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STAGE=target/packaging
export LC_ALL=C LANG=C

passed=0
installed_by_us=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() {
	printf 'FAIL %s\n' "$*" >&2
	printf 'packaging: %d passed, 1 failed\n' "$passed"
	exit 1
}
cleanup() {
	if [ "$installed_by_us" = 1 ] && dpkg-query -W ipft >/dev/null 2>&1; then
		echo "(removing the ipft package after the failure)" >&2
		dpkg -P ipft >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || fail "must run as root (dpkg -i, ipft -l)"

# --- what to test ------------------------------------------------------------------------
shopt -s nullglob
debs=("$STAGE"/*.deb)
rpms=("$STAGE"/*.rpm)
shopt -u nullglob
[ "${#debs[@]}" = 1 ] || fail "expected one .deb in $STAGE/ (found ${#debs[@]}): run packaging/build.sh first"
[ "${#rpms[@]}" = 1 ] || fail "expected one .rpm in $STAGE/ (found ${#rpms[@]}): run packaging/build.sh first"
DEB=${debs[0]}
RPM=${rpms[0]}
echo "testing $DEB and $RPM"

# --- tools -------------------------------------------------------------------------------
need_pkgs=()
command -v man >/dev/null || need_pkgs+=(man-db)
command -v rpm >/dev/null || need_pkgs+=(rpm)
command -v file >/dev/null || need_pkgs+=(file)
command -v lintian >/dev/null || need_pkgs+=(lintian)
# rpmlint is in Debian 12; elsewhere the rpm is only inspected with rpm.
if ! command -v rpmlint >/dev/null &&
	apt-cache policy rpmlint 2>/dev/null | grep -q 'Candidate: [0-9]'; then
	need_pkgs+=(rpmlint)
fi
if [ "${#need_pkgs[@]}" -gt 0 ]; then
	echo "installing ${need_pkgs[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || fail "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null ||
		fail "apt-get install ${need_pkgs[*]} failed"
fi

# Paths the .deb must install (besides the licence files, checked below). The .rpm installs
# the same but the Debian-only files, with zsh's completion where Fedora, RHEL and SUSE look.
EXPECTED=(
	/usr/bin/ipft
	/usr/share/man/man1/ipft.1.gz
	/usr/share/bash-completion/completions/ipft
	/usr/share/zsh/vendor-completions/_ipft
	/usr/share/fish/vendor_completions.d/ipft.fish
	/usr/include/ipft/ipft.h
	/usr/share/doc/ipft/README.md
	/usr/share/doc/ipft/copyright
	/usr/share/doc/ipft/LICENSE
	/usr/share/doc/ipft/THIRD-PARTY-CRATES.txt
	/usr/share/doc/ipft/changelog.gz
	/usr/share/doc/ipft/changelog.Debian.gz
	/usr/share/lintian/overrides/ipft
)
# Each vendored component in the tree has its notices in the doc directory.
vendored=()
for d in vendor/*/; do [ -d "$d" ] && vendored+=("$(basename "$d")"); done
vendored+=(libbpf-sys libbpf elfutils zlib)

# --- .deb metadata -----------------------------------------------------------------------
field() { dpkg-deb --field "$DEB" "$1"; }
[ "$(field Package)" = ipft ] || fail "deb Package is '$(field Package)', expected ipft"
[ "$(field Architecture)" = amd64 ] || fail "deb Architecture is '$(field Architecture)', expected amd64"
[ "$(field Section)" = net ] || fail "deb Section is '$(field Section)', expected net"
[[ "$(field Maintainer)" == ?*' <'?*@?*'>' ]] || fail "deb Maintainer is '$(field Maintainer)', expected 'Name <address>'"
[ -z "$(field Depends)" ] || fail "deb depends on '$(field Depends)'; a static binary needs nothing"
! dpkg-deb --field "$DEB" | grep -q '^Depends:' || fail "the deb has an empty Depends field (lintian: empty-field)"
[ -z "$(field Pre-Depends)" ] || fail "deb pre-depends on '$(field Pre-Depends)'"
VERSION=$(field Version)
UPSTREAM=${VERSION%-*}
ok "deb metadata: ipft $VERSION amd64, section net, no dependencies"

deb_files=$(dpkg-deb --fsys-tarfile "$DEB" | tar -t | sed -n 's|^\.\{0,1\}/\{0,1\}|/|; /[^/]$/p' | sort)
for p in "${EXPECTED[@]}"; do
	grep -qxF "$p" <<<"$deb_files" || fail "the .deb does not contain $p"
done
ok "deb contains the binary, man page, completions, header, README, changelogs and licences ($(wc -l <<<"$deb_files") files)"

# --- lintian -----------------------------------------------------------------------------
# Fails on any error or warning that packaging/lintian-overrides (shipped in the package)
# does not keep; info tags are printed, not fatal.
lint=$(lintian --allow-root --display-info --tag-display-limit 0 --fail-on error,warning "$DEB" 2>&1) || {
	printf '%s\n' "$lint" >&2
	fail "lintian reports errors or warnings on $(basename "$DEB") (above)"
}
[ -z "$lint" ] || printf '%s\n' "$lint" | sed 's/^/  lintian: /'
ok "lintian $(lintian --print-version 2>/dev/null): no errors, no warnings ($(grep -c '^I: ' <<<"$lint" || true) info tags)"

# --- install -----------------------------------------------------------------------------
if [ -e /usr/bin/ipft ] && ! dpkg -S /usr/bin/ipft >/dev/null 2>&1; then
	fail "/usr/bin/ipft exists and belongs to no package; move it away before testing"
fi
installed_by_us=1
dpkg -i "$DEB" || fail "dpkg -i $DEB failed"
for p in "${EXPECTED[@]}"; do
	[ -f "$p" ] || fail "dpkg -i did not install $p (a path-exclude in /etc/dpkg/dpkg.cfg.d/?)"
done
for c in "${vendored[@]}"; do
	compgen -G "/usr/share/doc/ipft/$c-*" >/dev/null ||
		fail "no licence files of $c in /usr/share/doc/ipft/ (expected $c-LICENSE, $c-COPYING or $c-COPYRIGHT)"
done
cmp -s /usr/share/doc/ipft/copyright packaging/copyright ||
	fail "/usr/share/doc/ipft/copyright is not packaging/copyright"
[ "$(stat -c '%a %U %G' /usr/bin/ipft)" = "755 root root" ] ||
	fail "/usr/bin/ipft is $(stat -c '%a %U:%G' /usr/bin/ipft), expected 755 root:root"
ok "dpkg -i installed every file; /usr/bin/ipft is 0755 root:root; licences of ${vendored[*]}"

# --- the installed binary ----------------------------------------------------------------
desc=$(file -L /usr/bin/ipft)
grep -Eq 'statically linked|static-pie linked' <<<"$desc" || fail "/usr/bin/ipft is not static: $desc"
lddout=$(ldd /usr/bin/ipft 2>&1 || true)
grep -Eq 'not a dynamic executable|statically linked' <<<"$lddout" || fail "ldd /usr/bin/ipft lists libraries: $lddout"
ok "/usr/bin/ipft is static (file: ${desc#*: }; ldd: $(echo "$lddout" | head -1 | sed 's/^[[:space:]]*//'))"

out=$(/usr/bin/ipft --version) || fail "/usr/bin/ipft --version exited $?"
head -1 <<<"$out" | grep -q "^ipft $UPSTREAM" || fail "ipft --version does not start with 'ipft $UPSTREAM': $out"
grep -q libbpf <<<"$out" || fail "ipft --version does not name the libbpf inside: $out"
ok "ipft --version: $(tr '\n' ';' <<<"$out" | sed 's/;$//; s/;/; /g')"

/usr/bin/ipft --gen bpf-module-header >"$STAGE/test-header.h" || fail "ipft --gen bpf-module-header exited $?"
cmp -s "$STAGE/test-header.h" headers/ipft.h || fail "ipft --gen bpf-module-header differs from headers/ipft.h"
cmp -s /usr/include/ipft/ipft.h headers/ipft.h || fail "/usr/include/ipft/ipft.h differs from headers/ipft.h"
rm -f "$STAGE/test-header.h"
ok "ipft --gen bpf-module-header = headers/ipft.h = /usr/include/ipft/ipft.h"

set +e
/usr/bin/ipft -l >"$STAGE/test-list.out" 2>"$STAGE/test-list.err"
rc=$?
set -e
if [ "$rc" != 0 ]; then
	fail "ipft -l exited $rc: $(head -5 "$STAGE/test-list.err")"
fi
rows=$(grep -c . "$STAGE/test-list.out" || true)
[ "$rows" -gt 0 ] || fail "ipft -l printed no rows (stderr: $(head -5 "$STAGE/test-list.err"))"
ok "ipft -l exits 0 with $rows rows (first: $(head -1 "$STAGE/test-list.out" | tr -s ' '))"
rm -f "$STAGE/test-list.out" "$STAGE/test-list.err"

# --- man page ----------------------------------------------------------------------------
page=$(MANWIDTH=100 man -l /usr/share/man/man1/ipft.1.gz 2>"$STAGE/test-man.err" | sed 's/.\x08//g') ||
	fail "man -l /usr/share/man/man1/ipft.1.gz failed: $(cat "$STAGE/test-man.err")"
grep -q -- '--mark' <<<"$page" || fail "the man page does not mention --mark"
grep -q 'ipft' <<<"$page" || fail "the man page does not name ipft"
if grep -q 'warning' "$STAGE/test-man.err"; then
	fail "man warns while formatting ipft.1: $(cat "$STAGE/test-man.err")"
fi
rm -f "$STAGE/test-man.err"
where=$(man -w ipft 2>/dev/null || true)
[ "$where" = /usr/share/man/man1/ipft.1.gz ] || fail "man -w ipft gives '$where', expected /usr/share/man/man1/ipft.1.gz"
ok "man -l renders ipft.1.gz ($(wc -l <<<"$page") lines, mentions --mark); man -w ipft finds it"

# --- completions -------------------------------------------------------------------------
spec=$(bash -c 'source /usr/share/bash-completion/completions/ipft && complete -p ipft' 2>&1) ||
	fail "sourcing the bash completion failed: $spec"
func=$(sed -n 's/.*-F \([^ ]*\).*/\1/p' <<<"$spec")
[ -n "$func" ] || fail "complete -p ipft names no function: $spec"
# Ask the completion function what follows "ipft --ma".
words=$(bash -c "source /usr/share/bash-completion/completions/ipft
	COMP_WORDS=(ipft --ma); COMP_CWORD=1; COMP_LINE='ipft --ma'; COMP_POINT=\${#COMP_LINE}
	$func ipft --ma ipft; printf '%s\n' \"\${COMPREPLY[@]}\"" 2>&1) ||
	fail "running the bash completion function $func failed: $words"
grep -qx -- '--mark' <<<"$words" || fail "bash completion of 'ipft --ma' does not offer --mark: $words"
ok "bash completion loads ($spec) and completes 'ipft --ma' to --mark"
# zsh and fish are not installed for this; their scripts are only parsed where present.
if command -v zsh >/dev/null; then
	zsh -n /usr/share/zsh/vendor-completions/_ipft || fail "zsh -n rejects _ipft"
	ok "zsh parses _ipft"
else
	echo "skip zsh -n _ipft (no zsh)"
fi
if command -v fish >/dev/null; then
	fish -n /usr/share/fish/vendor_completions.d/ipft.fish || fail "fish -n rejects ipft.fish"
	ok "fish parses ipft.fish"
else
	echo "skip fish -n ipft.fish (no fish)"
fi

# --- removal -----------------------------------------------------------------------------
installed=$(dpkg -L ipft | sort)
status() { dpkg-query -W -f '${db:Status-Status}' ipft 2>/dev/null || true; }
dpkg -r ipft >/dev/null || fail "dpkg -r ipft failed"
# Without conffiles, -r leaves nothing to purge; -P is for what remains otherwise.
if [ "$(status)" = config-files ]; then
	dpkg -P ipft >/dev/null || fail "dpkg -P ipft failed"
fi
installed_by_us=0
case "$(status)" in
	"" | not-installed) ;;
	*) fail "dpkg still knows ipft after removal and purge (status: $(status))" ;;
esac
left=()
while read -r p; do
	# Shared directories (/usr, /usr/share/man/man1, ...) stay; everything else must go.
	if [ -L "$p" ] || { [ -e "$p" ] && [ ! -d "$p" ]; }; then left+=("$p"); fi
done <<<"$installed"
for d in /usr/include/ipft /usr/share/doc/ipft; do
	[ ! -e "$d" ] || left+=("$d")
done
[ "${#left[@]}" = 0 ] || fail "left after dpkg -r/-P: ${left[*]}"
ok "dpkg -r and -P remove all $(grep -c . <<<"$installed") paths (files and ipft's directories)"

# --- .rpm --------------------------------------------------------------------------------
rpmq() { rpm --dbpath "$ROOT/$STAGE/rpmdb" "$@" 2>&1; }
mkdir -p "$STAGE/rpmdb"
info=$(rpmq -qip "$RPM") || fail "rpm -qip failed: $info"
rpmfield() { sed -n "s/^$1 *: //p" <<<"$info" | head -1 | sed 's/[[:space:]]*$//'; }
[ "$(rpmfield Name)" = ipft ] || fail "rpm Name is '$(rpmfield Name)'"
[ "$(rpmfield Version)" = "$UPSTREAM" ] || fail "rpm Version is '$(rpmfield Version)', the deb's is $UPSTREAM"
[ "$(rpmfield Architecture)" = x86_64 ] || fail "rpm Architecture is '$(rpmfield Architecture)', expected x86_64"
license=$(rpmfield License)
grep -q 'GPL-2.0-only' <<<"$license" || fail "rpm License is '$license', expected it to name GPL-2.0-only"
ok "rpm -qip: ipft $(rpmfield Version)-$(rpmfield Release) $(rpmfield Architecture), License: $license"

requires=$(rpmq -qp --requires "$RPM") || fail "rpm -qp --requires failed: $requires"
bad=$(grep -v '^rpmlib(' <<<"$requires" || true)
[ -z "$bad" ] || fail "the rpm requires: $bad (a static binary needs nothing)"
ok "rpm requires nothing but rpmlib features"

check=$(rpmq -K --nosignature "$RPM") || fail "rpm -K: $check"
ok "rpm -K: ${check##*: }"

rpm_files=$(rpmq -qlp "$RPM" | sort) || fail "rpm -qlp failed: $rpm_files"
rpm_expected=$(sed -e 's|^/usr/share/zsh/vendor-completions/|/usr/share/zsh/site-functions/|' \
	-e '\|^/usr/share/lintian/|d' -e '\|^/usr/share/doc/ipft/changelog\.Debian\.gz$|d' <<<"$deb_files" | sort)
[ "$rpm_files" = "$rpm_expected" ] ||
	fail "the rpm's file list is not the deb's (less lintian overrides and changelog.Debian.gz, zsh completion in site-functions): $(diff <(echo "$rpm_expected") <(echo "$rpm_files") | grep '^[<>]' | tr '\n' ' ')"
ok "rpm -qlp lists the deb's files ($(wc -l <<<"$rpm_files")), the zsh completion in /usr/share/zsh/site-functions"

desc=$(rpmq -qp --queryformat '%{DESCRIPTION}' "$RPM") || fail "rpm -qp --queryformat DESCRIPTION failed: $desc"
summary=$(rpmq -qp --queryformat '%{SUMMARY}' "$RPM")
if [ "$desc" = "$summary" ]; then
	echo "note: the rpm's Description is its Summary (cargo-generate-rpm cannot set another; packaging/README.md)"
fi

modes=$(rpmq -qlvp "$RPM") || fail "rpm -qlvp failed: $modes"
line=$(awk '$NF == "/usr/bin/ipft"' <<<"$modes")
[[ $line == -rwxr-xr-x* ]] || fail "rpm -qlvp shows /usr/bin/ipft as: $line"
owner=$(awk '{print $3 ":" $4}' <<<"$line")
[ "$owner" = root:root ] || fail "rpm -qlvp: /usr/bin/ipft is owned by $owner"
others=$(awk '$NF != "/usr/bin/ipft" && $1 != "-rw-r--r--"' <<<"$modes")
[ -z "$others" ] || fail "rpm files that are not -rw-r--r--: $others"
ok "rpm -qlvp: /usr/bin/ipft -rwxr-xr-x root root, every other file -rw-r--r--"
rm -rf "$STAGE/rpmdb"

# --- rpmlint -----------------------------------------------------------------------------
if command -v rpmlint >/dev/null; then
	# Exit status: errors (and bad invocations) are non-zero. Warnings are counted from the
	# output: packaging/rpmlint.toml filters the ones kept on purpose.
	rlint=$(rpmlint --config packaging/rpmlint.toml "$RPM" 2>&1) || {
		printf '%s\n' "$rlint" >&2
		fail "rpmlint reports errors on $(basename "$RPM") (above)"
	}
	warnings=$(grep -E '^[^ ]+: W: ' <<<"$rlint" || true)
	[ -z "$warnings" ] || {
		printf '%s\n' "$rlint" >&2
		fail "rpmlint warns about $(basename "$RPM") (above); fix or keep them in packaging/rpmlint.toml"
	}
	ok "rpmlint $(rpmlint --version 2>/dev/null | head -1): $(tail -1 <<<"$rlint")"
else
	echo "skip rpmlint (not installed and not in the apt archive)"
fi

echo
echo "PASS: $(basename "$DEB") ($(stat -c %s "$DEB") bytes) and $(basename "$RPM") ($(stat -c %s "$RPM") bytes)"
printf 'packaging: %d passed, 0 failed\n' "$passed"
