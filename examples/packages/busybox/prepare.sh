#!/bin/sh
# Stages a static busybox with one symlink per applet, plus the empty directories containers mount over.
set -eu
bb=/bin/busybox
[ -x "$bb" ] || { echo "prepare: $bb not found: install busybox-static (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$bb" >/dev/null 2>&1; then
  echo "prepare: $bb is dynamically linked: install busybox-static (apt-get install busybox-static)" >&2; exit 1
fi
mkdir -p "$STAGE/bin"
cp "$bb" "$STAGE/bin/busybox"
chmod 0755 "$STAGE/bin/busybox"
for a in $("$STAGE/bin/busybox" --list-full); do
  [ "$a" = bin/busybox ] && continue
  mkdir -p "$STAGE/$(dirname "$a")"
  ln -sf /bin/busybox "$STAGE/$a"
done
for d in dev proc sys tmp run var root etc home mnt; do mkdir -p "$STAGE/$d"; done
chmod 1777 "$STAGE/tmp"
chmod 0700 "$STAGE/root"
