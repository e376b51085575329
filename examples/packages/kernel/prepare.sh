#!/bin/sh
# Stages /kernel and /kernel.tar from Debian's kernel .deb. The .deb and the extracted result are cached in
# ${MOBYTS_CACHE_HOME:-~/.cache/mobyts}/kernel, so only the first build downloads (70 MB) and extracts.
set -eu
cache="${MOBYTS_CACHE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mobyts}/kernel"
sde="${SOURCE_DATE_EPOCH:-1492533000}"
kpkg=${MOBYTS_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
[ -n "$kpkg" ] || { echo "prepare: apt-cache knows no linux-image-amd64: run apt-get update (Debian/Ubuntu only)" >&2; exit 1; }
mkdir -p "$cache"
out="$cache/$kpkg-$(sha256sum "$PKG_DIR/modules.txt" | cut -c1-12)"
if [ ! -f "$out/kernel.tar" ]; then
  deb=$(ls "$cache/${kpkg}"_*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    echo "prepare: downloading $kpkg (apt-get download)" >&2
    (cd "$cache" && apt-get download "$kpkg" >&2 2>/dev/null) || (cd "$cache" && apt-get download "$kpkg" >&2)
    deb=$(ls "$cache/${kpkg}"_*.deb | head -n 1)
  fi
  work=$(mktemp -d "$cache/extract.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*' './boot/config-*' './lib/modules/*'
  kver=$(ls "$work/lib/modules" | head -n 1)
  busybox depmod -b "$work" "$kver"
  mods="$work/lib/modules/$kver"
  sub="$work/sub"; mkdir -p "$sub/lib/modules/$kver" "$sub/boot"
  for m in $(grep -v '^#' "$PKG_DIR/modules.txt"); do
    re=$(echo "$m" | sed 's/[-_]/[-_]/g')   # module names treat - and _ alike
    line=$(grep -E "(^|/)$re\.ko(\.[a-z]+)?:" "$mods/modules.dep" || true)
    [ -n "$line" ] || { echo "prepare: module $m is not in $kpkg" >&2; exit 1; }
    for f in $(echo "$line" | tr -d :); do
      mkdir -p "$sub/lib/modules/$kver/$(dirname "$f")"
      cp "$mods/$f" "$sub/lib/modules/$kver/$f"
    done
  done
  for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$mods/$f" ] && cp "$mods/$f" "$sub/lib/modules/$kver/$f"
  done
  busybox depmod -b "$sub" "$kver"
  for f in "$sub/lib/modules/$kver"/modules.*; do LC_ALL=C sort -o "$f" "$f"; done
  cp "$work/boot/config-$kver" "$sub/boot/config-$kver"
  find "$sub" -exec touch -h -d "@$sde" {} +
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  cp "$work/boot/vmlinuz-$kver" "$out.tmp/kernel"
  (cd "$sub" && find boot lib | LC_ALL=C sort | tar -c --no-recursion --format=ustar --owner=0 --group=0 --numeric-owner \
    --mtime="@$sde" -f "$out.tmp/kernel.tar" -T -)
  rm -rf "$out"; mv "$out.tmp" "$out"
fi
cp "$out/kernel" "$STAGE/kernel"
cp "$out/kernel.tar" "$STAGE/kernel.tar"
chmod 0644 "$STAGE/kernel" "$STAGE/kernel.tar"
