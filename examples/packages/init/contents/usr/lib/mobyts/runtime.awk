# Turns a LinuxKit runtime.json (docs/linuxkit-behaviour.md#runtime) into shell calls for /init, one per line:
#   rt_cgroup NAME | rt_mkdir PATH | rt_mount DEST TYPE SOURCE OPTIONS | rt_bindns NS PATH | rt_interface NAME
# in the order LinuxKit applies them (cgroups, mounts, mkdir; bindNS after the container exists).
# Every argument is single-quoted, so values cannot inject shell syntax. Reads the whole file as one record.
BEGIN { RS = "\001"; pos = 1 }

function ws() { while (substr(src, pos, 1) ~ /[ \t\r\n]/) pos++ }

function str(   out, c, e, h) {
  pos++ # opening quote
  out = ""
  while (pos <= length(src)) {
    c = substr(src, pos, 1)
    if (c == "\"") { pos++; return out }
    if (c == "\\") {
      e = substr(src, pos + 1, 1); pos += 2
      if (e == "n") out = out "\n"
      else if (e == "t") out = out "\t"
      else if (e == "r") out = out "\r"
      else if (e == "b" || e == "f") out = out ""
      else if (e == "u") {
        h = substr(src, pos, 4); pos += 4
        if (h == "003c" || h == "003C") out = out "<"
        else if (h == "003e" || h == "003E") out = out ">"
        else if (h == "0026") out = out "&"
        else out = out "?"
      } else out = out e
    } else { out = out c; pos++ }
  }
  print "echo 'mobyts-init: runtime.json: unterminated string' >&2"; exit 1
}

# Parses one value at pos; scalars land in V[path], containers record their size in N[path].
function val(path,   c, k, i) {
  ws(); c = substr(src, pos, 1)
  if (c == "{") {
    pos++; ws()
    if (substr(src, pos, 1) == "}") { pos++; return }
    while (1) {
      ws(); k = str(); ws(); pos++ # colon
      val(path "." k); ws()
      c = substr(src, pos++, 1)
      if (c == "}") return
    }
  }
  if (c == "[") {
    pos++; ws(); i = 0
    if (substr(src, pos, 1) == "]") { pos++; N[path] = 0; return }
    while (1) {
      val(path "." i); i++; ws()
      c = substr(src, pos++, 1)
      if (c == "]") { N[path] = i; return }
    }
  }
  if (c == "\"") { V[path] = str(); return }
  k = ""
  # true/false/null/numbers: up to the next delimiter (`]` first in the bracket, as POSIX ERE wants it).
  while (pos <= length(src) && substr(src, pos, 1) ~ /[^],} \t\r\n]/) { k = k substr(src, pos, 1); pos++ }
  if (k == "") { print "echo 'mobyts-init: runtime.json: unexpected character at " pos "' >&2; exit 1"; exit 1 }
  V[path] = k
}

function q(s) { gsub(/'/, "'\\''", s); return "'" s "'" }

function list(path,   i, out) {
  out = ""
  for (i = 0; i < N[path]; i++) out = out (i ? "," : "") V[path "." i]
  return out
}

{ src = src $0 }

END {
  val("")
  for (i = 0; i < N[".cgroups"]; i++) print "rt_cgroup " q(V[".cgroups." i])
  for (i = 0; i < N[".mounts"]; i++) {
    m = ".mounts." i
    print "rt_mount " q(V[m ".destination"]) " " q(V[m ".type"]) " " q(V[m ".source"]) " " q(list(m ".options"))
  }
  for (i = 0; i < N[".mkdir"]; i++) print "rt_mkdir " q(V[".mkdir." i])
  for (i = 0; i < N[".interfaces"]; i++) print "rt_interface " q(V[".interfaces." i ".name"] V[".interfaces." i ".add"])
  split("cgroup ipc mnt net pid user uts", ns, " ")
  for (i = 1; i <= 7; i++) if (V[".bindNS." ns[i]] != "") print "rt_bindns " q(ns[i]) " " q(V[".bindNS." ns[i]])
}
