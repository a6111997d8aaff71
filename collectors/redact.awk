# Redaction of secret-looking values in collected objects (*.json, as kubectl prints them) and logs.
# POSIX awk (mawk 1.3.4 compatible: no regex intervals, no gensub, no IGNORECASE).
#
#   awk -v mode=extract -f redact.awk FILES...            prints each secret value found, one a line
#   awk -v mode=apply -v map=MAP -v counts=COUNTS -f redact.awk FILES...
#        MAP lines are "TOKEN<TAB>VALUE"; writes FILE.redacting for each FILE and "FILE<TAB>N" to COUNTS
#
# What is a secret value (the same spans in both modes):
#   - the "value" of an env entry whose "name" looks secret (password, secret, token, *key, credential),
#     in kubectl's pretty JSON (keys sorted: "name" is the line before "value") and in the escaped JSON
#     of the last-applied-configuration annotation
#   - a bearer token ("Bearer xxxxxxxx")
#   - the password of a URL ("scheme://user:PASSWORD@host")
#   - the value after password= / token= / secret= / api_key= ... (in logs also "password: x")
# In apply mode every known value of 6 or more characters is also replaced wherever it appears.
# Values already redacted (REDACTED-xxxxxxxx) are left alone, so a redacted dump redacts to itself.

function secret_name(n,    l) {
  l = tolower(n)
  return l ~ /passw|secret|token|credential|api[_-]?key|apikey|access[_-]?key|private[_-]?key|(^|[_.-])key$/
}

function skip_value(v) {
  return v == "" || v ~ /^REDACTED-[0-9a-f]+$/ || v == "true" || v == "false" || v == "null"
}

function found(v) {
  if (skip_value(v)) return v
  if (mode == "extract") { print v; return v }
  if (v in tok) { n_repl++; return tok[v] }
  return v
}

# replace every match of `full` (on the lowercased line) whose value starts after `prefix`;
# `trim` characters are cut from the end of the value (the '@' of a URL password)
function sweep(s, full, prefix, trim, minlen,    out, low, m, p, v, tail) {
  out = ""
  while (1) {
    low = tolower(s)
    if (!match(low, full)) break
    m = substr(s, RSTART, RLENGTH)
    out = out substr(s, 1, RSTART - 1)
    s = substr(s, RSTART + RLENGTH)
    match(tolower(m), prefix)
    p = substr(m, 1, RLENGTH)
    v = substr(m, RLENGTH + 1)
    tail = ""
    if (trim > 0) { tail = substr(v, length(v) - trim + 1); v = substr(v, 1, length(v) - trim) }
    if (length(v) >= minlen) v = found(v)
    out = out p v tail
  }
  return out s
}

# a value as a regular expression that matches it literally (POSIX ERE, mawk compatible)
function re_quote(v,    out, i, c) {
  out = ""
  for (i = 1; i <= length(v); i++) {
    c = substr(v, i, 1)
    if (c == "\\") out = out "\\\\"
    else if (c == "^") out = out "\\^"
    else if (index(".[]$|()*+?{}/", c)) out = out "[" c "]"
    else out = out c
  }
  return out
}

# every known value wherever it appears: one scan of the line with one alternation of all values
# (built once in BEGIN), not one scan per value. Leftmost-longest matching: where two values overlap,
# the longer one is replaced whole.
function literal(s,    out, m) {
  if (lit_re == "") return s
  out = ""
  while (match(s, lit_re)) {
    m = substr(s, RSTART, RLENGTH)
    out = out substr(s, 1, RSTART - 1) tok[m]
    s = substr(s, RSTART + RLENGTH)
    n_repl++
  }
  return out s
}

function redact_line(line, is_json,    ind, v, pre) {
  # env entry in pretty JSON: the "value" line right after a secret-looking "name" line
  if (is_json && pending_ind != "" && index(line, pending_ind "\"value\": \"") == 1) {
    pre = pending_ind "\"value\": \""
    v = substr(line, length(pre) + 1)
    sub(/",?$/, "", v)
    if (substr(line, length(line)) == ",") line = pre found(v) "\","
    else line = pre found(v) "\""
  }
  pending_ind = ""
  if (is_json && match(line, /^ *"name": "/)) {
    ind = substr(line, 1, RLENGTH - 9)
    v = substr(line, RLENGTH + 1)
    sub(/",?$/, "", v)
    if (secret_name(v)) pending_ind = ind
  }
  # env entry inside escaped JSON (last-applied-configuration)
  line = sweep(line, "\\\\\"name\\\\\":\\\\\"[^\\\\\"]*(passw|secret|token|credential|api[_-]?key|access[_-]?key|private[_-]?key|_key)[^\\\\\"]*\\\\\",\\\\\"value\\\\\":\\\\\"[^\\\\\"]*", "\\\\\"name\\\\\":\\\\\"[^\\\\\"]*\\\\\",\\\\\"value\\\\\":\\\\\"", 0, 1)
  line = sweep(line, "bearer[ ]+[a-z0-9._~+/=-]+", "bearer[ ]+", 0, 8)
  line = sweep(line, "://[^:@/ \t\"'\\\\]+:[^:@/ \t\"'\\\\]+@", "://[^:@/ \t\"'\\\\]+:", 1, 1)
  if (is_json)
    line = sweep(line, "(passw(or)?d|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key)[ ]*=[ ]*[^] \t\"'&,;}\\\\]+", "(passw(or)?d|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key)[ ]*=[ ]*", 0, 1)
  else
    line = sweep(line, "(passw(or)?d|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key)[\"']?[ ]*[:=][ ]*[\"']?[^] \t\"'&,;}\\\\]+", "(passw(or)?d|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key)[\"']?[ ]*[:=][ ]*[\"']?", 0, 1)
  if (mode == "apply") line = literal(line)
  return line
}

BEGIN {
  if (mode == "apply") {
    while ((getline l < map) > 0) {
      t = index(l, "\t")
      if (t > 0) tok[substr(l, t + 1)] = substr(l, 1, t - 1)
    }
    close(map)
    lit_re = ""
    for (v in tok) if (length(v) >= 6) lit_re = lit_re (lit_re == "" ? "" : "|") re_quote(v)
  }
}

FNR == 1 {
  if (mode == "apply" && prev != "") { close(prev ".redacting"); if (n_repl > 0) print prev "\t" n_repl > counts }
  prev = FILENAME; n_repl = 0; pending_ind = ""
  is_json = FILENAME ~ /\.json$/
}

{
  out = redact_line($0, is_json)
  if (mode == "apply") print out > (FILENAME ".redacting")
}

END {
  if (mode == "apply" && prev != "") { close(prev ".redacting"); if (n_repl > 0) print prev "\t" n_repl > counts }
}
