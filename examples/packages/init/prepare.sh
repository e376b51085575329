#!/bin/sh
# Stages runc and every shared library it needs, at the same paths as on the host. Host arch: the installed
# runc and what ldd lists. Another arch: runc, libseccomp2 and libc6 from Debian's .debs for it (deb.sh), the
# libraries found from the ELF headers (readelf: interpreter and NEEDED, transitively), nothing run.
set -eu
. "$PKG_DIR/../busybox/deb.sh"
copy() { mkdir -p "$STAGE$(dirname "$2")"; cp -L "$1" "$STAGE$2"; chmod 0755 "$STAGE$2"; }
if ! foreign; then
  runc=$(command -v runc || true)
  [ -n "$runc" ] || { echo "prepare: runc not found: install it (apt-get install runc)" >&2; exit 1; }
  copy "$runc" /usr/sbin/runc
  for lib in $(ldd "$runc" | awk '/=>/ && $3 ~ /^\// {print $3} /^[ \t]*\/[^ ]+ \(/ {print $1}'); do
    copy "$lib" "$lib"
  done
  exit 0
fi
x=$(mktemp -d); trap 'rm -rf "$x"' EXIT
unpack_debs "$x" runc libseccomp2 libc6
copy "$x/usr/sbin/runc" /usr/sbin/runc
interp=$(readelf -l "$x/usr/sbin/runc" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -e "$x$interp" ] || { echo "prepare: runc:$arch's interpreter $interp is not in libc6:$arch" >&2; exit 1; }
copy "$x$interp" "$interp"
todo=/usr/sbin/runc done_=
while [ -n "$todo" ]; do
  set -- $todo; f=$1; shift; todo="$*"
  for n in $(readelf -d "$x$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case " $done_ " in *" $n "*) continue ;; esac
    done_="$done_ $n"
    p=$(cd "$x" && find lib usr/lib -name "$n" 2>/dev/null | LC_ALL=C sort | head -n 1)
    [ -n "$p" ] || { echo "prepare: $n (needed by $f) is not in runc's .debs for $arch" >&2; exit 1; }
    copy "$x/$p" "/$p"
    todo="$todo /$p"
  done
done
