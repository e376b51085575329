#!/bin/sh
# Stages /kernel and /kernel.tar from Debian's kernel .deb for MOBYTS_ARCH (default amd64: the bzImage;
# arm64: the uncompressed arm64 Image Debian ships as vmlinuz). The .deb and the extracted result are cached
# in ${MOBYTS_CACHE_HOME:-~/.cache/mobyts}/kernel, so only the first build downloads (60-70 MB) and extracts.
# Nothing from the .deb is run: dpkg-deb unpacks it, busybox depmod reads the modules' metadata.
set -eu
cache="${MOBYTS_CACHE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mobyts}/kernel"
sde="${SOURCE_DATE_EPOCH:-1492533000}"
arch=${MOBYTS_ARCH:-amd64}
# apt-cache names a foreign-arch package PKG:ARCH; the qualifier is kept for apt-get, dropped for file names.
kdep=${MOBYTS_KERNEL_PACKAGE:-$(apt-cache depends "linux-image-$arch" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
[ -n "$kdep" ] || { echo "prepare: apt-cache knows no linux-image-$arch: run apt-get update (Debian/Ubuntu only; for a foreign arch first dpkg --add-architecture $arch)" >&2; exit 1; }
kpkg=${kdep%%:*}
mkdir -p "$cache"
# Modules for this arch: modules.txt lines are NAME [ARCH...] (no arches: every arch).
mods_list=$(awk -v a="$arch" '!/^#/ && NF { ok = NF == 1; for (i = 2; i <= NF; i++) if ($i == a) ok = 1; if (ok) print $1 }' "$PKG_DIR/modules.txt")
out="$cache/$kpkg-$(echo "$mods_list" | sha256sum | cut -c1-12)"
if [ ! -f "$out/kernel.tar" ]; then
  deb=$(ls "$cache/${kpkg}"_*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    echo "prepare: downloading $kdep (apt-get download)" >&2
    (cd "$cache" && apt-get download "$kdep" >&2 2>/dev/null) || (cd "$cache" && apt-get download "$kdep" >&2)
    deb=$(ls "$cache/${kpkg}"_*.deb | head -n 1)
  fi
  work=$(mktemp -d "$cache/extract.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*' './boot/config-*' './lib/modules/*'
  kver=$(ls "$work/lib/modules" | head -n 1)
  busybox depmod -b "$work" "$kver"
  mods="$work/lib/modules/$kver"
  sub="$work/sub"; mkdir -p "$sub/lib/modules/$kver" "$sub/boot"
  for m in $mods_list; do
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
