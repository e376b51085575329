#!/bin/sh
# Stages runc and every shared library it needs (ldd), at the same paths as on the host.
set -eu
runc=$(command -v runc || true)
[ -n "$runc" ] || { echo "prepare: runc not found: install it (apt-get install runc)" >&2; exit 1; }
copy() { mkdir -p "$STAGE$(dirname "$2")"; cp -L "$1" "$STAGE$2"; chmod 0755 "$STAGE$2"; }
copy "$runc" /usr/sbin/runc
for lib in $(ldd "$runc" | awk '/=>/ && $3 ~ /^\// {print $3} /^[ \t]*\/[^ ]+ \(/ {print $1}'); do
  copy "$lib" "$lib"
done
