# Sourced by the offline packages' prepare and fingerprint steps. For MOBYTS_ARCH = the host's dpkg
# architecture the host's installed files are used; for another arch (arm64 on an amd64 host) Debian's .debs
# for that arch are fetched with apt-get download (cached in ${MOBYTS_CACHE_HOME:-~/.cache/mobyts}/debs/ARCH)
# and unpacked with dpkg-deb -x: no maintainer script runs and nothing of the foreign arch is executed.
# That needs the arch in dpkg and apt's lists: dpkg --add-architecture ARCH && apt-get update (scripts/setup).
host_arch=$(dpkg --print-architecture)
arch=${MOBYTS_ARCH:-$host_arch}
debs="${MOBYTS_CACHE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mobyts}/debs/$arch"

foreign() { [ "$arch" != "$host_arch" ]; }

# fingerprint PKG...: the installed versions (host arch) or apt's candidate .debs (foreign arch); prints
# nothing rather than failing when apt knows no such package, so other arches still build.
fingerprint() {
  if foreign; then
    # one apt-cache call for all of them (each call loads apt's whole cache, about a second here); it prints the
    # packages it knows in the order given, as one call per package did
    set -- $(for p in "$@"; do printf '%s:%s\n' "$p" "$arch"; done)
    apt-cache show --no-all-versions "$@" 2>/dev/null | grep -E '^(Package|Version|SHA256):' || true
  else
    dpkg-query -W -f '${Package} ${Version}\n' "$@"
  fi
}

# deb_version PKG: apt's candidate version of PKG:$arch, or a clear error.
deb_version() {
  v=$(apt-cache show --no-all-versions "$1:$arch" 2>/dev/null | awk '/^Version:/{print $2; exit}')
  [ -n "$v" ] || { echo "prepare: apt knows no $1:$arch: run dpkg --add-architecture $arch && apt-get update (scripts/setup does)" >&2; exit 1; }
  echo "$v"
}

# unpack_debs DIR PKG...: PKG:$arch's files under DIR (downloaded once; parallel builds each download
# privately and the first rename wins).
unpack_debs() {
  dir=$1; shift
  mkdir -p "$debs" "$dir"
  for p in "$@"; do
    v=$(deb_version "$p")
    f="$debs/${p}_$(echo "$v" | sed 's/:/%3a/')_$arch.deb"
    if [ ! -f "$f" ]; then
      echo "prepare: downloading $p:$arch (apt-get download)" >&2
      t=$(mktemp -d "$debs/dl.XXXXXX")
      (cd "$t" && apt-get download "$p:$arch" >&2 2>/dev/null) || (cd "$t" && apt-get download "$p:$arch" >&2) || { rm -rf "$t"; exit 1; }
      mv "$t"/*.deb "$f" && rm -rf "$t"
    fi
    dpkg-deb -x "$f" "$dir"
  done
}
