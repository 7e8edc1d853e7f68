#!/bin/sh
# Installs a released infra binary: downloads the archive built for this machine and its
# SHA-256 checksum file, refuses the archive unless the checksum matches, and puts `infra`
# in PREFIX/bin.
#
#   curl -fsSL https://github.com/OWNER/NAME/releases/download/vX.Y.Z/install.sh | sh
#
# Settings (environment variables, all optional):
#   INFRA_VERSION   the version to install, `0.2.0` or `v0.2.0` (default: the latest release)
#   INFRA_PREFIX    install into INFRA_PREFIX/bin (default: $HOME/.local)
#   INFRA_REPO      the GitHub repository infra is released from, OWNER/NAME (the copy of this
#                   script attached to a release names its own repository)
#   INFRA_BASE_URL  where the archives are, instead of the release on GitHub: an https:// or
#                   file:// URL, or a directory (a mirror, or archives built by scripts/package)
#   INFRA_TARGET    the target triple to install, instead of this machine's
#
# Archives are named infra-VERSION-TARGET.tar.gz; their checksum files infra-VERSION-TARGET.sha256
# hold one line `HEX  infra-VERSION-TARGET.tar.gz`, as sha256sum writes it.
set -eu

# Filled in by the release workflow in the copy attached to a release.
default_repo=""

say() { printf 'install.sh: %s\n' "$*" >&2; }
fail() {
    say "$*"
    exit 1
}

# The release target built for this machine (the Linux binaries are static, musl).
host_target() {
    os=$(uname -s)
    arch=$(uname -m)
    case "$arch" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) fail "no release is built for the architecture $arch; build from source with cargo" ;;
    esac
    case "$os" in
        Linux) echo "$arch-unknown-linux-musl" ;;
        Darwin) echo "$arch-apple-darwin" ;;
        *) fail "no release is built for $os; build from source with cargo" ;;
    esac
}

# fetch SOURCE DEST: copies a file from a directory or downloads a URL; fails quietly (the
# caller says what could not be had).
fetch() {
    case "$1" in
        http://*) fail "refusing $1: over plain http the archive and its checksum could both be swapped; use https" ;;
        https://* | file://*)
            if command -v curl >/dev/null 2>&1; then
                curl --proto '=https,file' --proto-redir '=https' -fsSL "$1" -o "$2" 2>/dev/null
            elif command -v wget >/dev/null 2>&1; then
                case "$1" in
                    file://*) [ -f "${1#file://}" ] && cp "${1#file://}" "$2" ;;
                    *) wget -q "$1" -O "$2" ;;
                esac
            else
                fail "neither curl nor wget is installed"
            fi
            ;;
        *) [ -f "$1" ] && cp "$1" "$2" ;;
    esac
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 -r "$1" | cut -d' ' -f1
    else
        fail "no SHA-256 tool found (sha256sum, shasum or openssl); refusing to install unverified"
    fi
}

# The latest release's version, from where GitHub redirects /releases/latest.
latest_version() {
    command -v curl >/dev/null 2>&1 || fail "finding the latest release needs curl; set INFRA_VERSION"
    url=$(curl -fsSLI -o /dev/null -w '%{url_effective}' "https://github.com/$1/releases/latest") ||
        fail "could not find the latest release of $1; set INFRA_VERSION"
    case "$url" in
        */tag/v*) echo "${url##*/tag/v}" ;;
        *) fail "$1 has no release yet (GitHub answered $url); set INFRA_VERSION" ;;
    esac
}

repo=${INFRA_REPO:-$default_repo}
prefix=${INFRA_PREFIX:-${HOME:?set INFRA_PREFIX}/.local}
target=${INFRA_TARGET:-$(host_target)}
version=${INFRA_VERSION:-}
base=${INFRA_BASE_URL:-}

if [ -z "$base" ] && [ -z "$repo" ]; then
    fail "set INFRA_REPO to the GitHub repository infra is released from (OWNER/NAME), or INFRA_BASE_URL to where its archives are"
fi
if [ -z "$version" ]; then
    [ -n "$repo" ] || fail "set INFRA_VERSION (the version to install from $base)"
    version=$(latest_version "$repo")
fi
version=${version#v}
base=${base:-https://github.com/$repo/releases/download/v$version}
base=${base%/}

archive="infra-$version-$target.tar.gz"
sums="infra-$version-$target.sha256"

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t infra-install)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

say "downloading $base/$archive"
fetch "$base/$archive" "$tmp/$archive" || fail "could not download $base/$archive"
fetch "$base/$sums" "$tmp/$sums" ||
    fail "could not download the checksum file $base/$sums; refusing to install an archive that cannot be verified"

# The line of the checksum file that names this archive (`HEX  NAME` or `HEX *NAME`).
expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/$sums")
[ -n "$expected" ] || fail "$sums does not list $archive; refusing to install"
actual=$(sha256_of "$tmp/$archive")
if [ "$actual" != "$expected" ]; then
    fail "checksum mismatch for $archive: $sums says $expected, the download is $actual; refusing to install"
fi

mkdir "$tmp/unpacked"
tar -xzf "$tmp/$archive" -C "$tmp/unpacked" || fail "$archive is not a gzip tar archive"
[ -f "$tmp/unpacked/infra" ] || fail "$archive holds no infra binary at its top level"

mkdir -p "$prefix/bin" || fail "could not create $prefix/bin"
# Copy next to the destination, then rename: a running infra is replaced, never half-written.
cp "$tmp/unpacked/infra" "$prefix/bin/.infra.$$" || fail "could not write to $prefix/bin"
chmod 755 "$prefix/bin/.infra.$$"
mv -f "$prefix/bin/.infra.$$" "$prefix/bin/infra"

installed=$("$prefix/bin/infra" --version) || fail "the installed $prefix/bin/infra does not run on this machine"
say "installed $installed ($target) to $prefix/bin/infra"
case ":${PATH:-}:" in
    *":$prefix/bin:"*) ;;
    *) say "$prefix/bin is not on PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
