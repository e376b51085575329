#!/bin/sh
# Stages a static busybox with one symlink per applet, plus the empty directories containers mount over.
# Host arch: the installed /bin/busybox. Another arch: busybox-static from Debian's .deb for it (deb.sh); its
# applet list is the host's busybox-static's, which must be the same Debian version (same build config).
set -eu
. "$PKG_DIR/deb.sh"
host_bb=/bin/busybox
[ -x "$host_bb" ] || { echo "prepare: $host_bb not found: install busybox-static (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$host_bb" >/dev/null 2>&1; then
  echo "prepare: $host_bb is dynamically linked: install busybox-static (apt-get install busybox-static)" >&2; exit 1
fi
mkdir -p "$STAGE/bin"
if foreign; then
  have=$(dpkg-query -W -f '${Version}' busybox-static)
  want=$(deb_version busybox-static)
  [ "$have" = "$want" ] || { echo "prepare: busybox-static:$arch is $want but the host's is $have: the applet list comes from the host's (apt-get install busybox-static=$want)" >&2; exit 1; }
  x=$(mktemp -d); trap 'rm -rf "$x"' EXIT
  unpack_debs "$x" busybox-static
  cp "$x/bin/busybox" "$STAGE/bin/busybox"
else
  cp "$host_bb" "$STAGE/bin/busybox"
fi
chmod 0755 "$STAGE/bin/busybox"
for a in $("$host_bb" --list-full); do
  [ "$a" = bin/busybox ] && continue
  mkdir -p "$STAGE/$(dirname "$a")"
  ln -sf /bin/busybox "$STAGE/$a"
done
for d in dev proc sys tmp run var root etc home mnt; do mkdir -p "$STAGE/$d"; done
chmod 1777 "$STAGE/tmp"
chmod 0700 "$STAGE/root"
