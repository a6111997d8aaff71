# shellcheck shell=bash
# Shared by `collect` and `inspect-images`: command records, YAML writing, the dump's metadata file.
# Needs bash, coreutils and awk only. Sourced, never run.
#
# State lives in "$STATE" (a private temp dir): cmds/<seq>.yaml (one command record each),
# failures/<seq>.txt (one line each: what failed and why).

COLLECTOR_NAME=cluster-forensics-collect
COLLECTOR_VERSION=1.0.0

log() { printf '%s %s\n' "[$(date -u +%H:%M:%S)]" "$*" >&2; }

now_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# microseconds since the epoch (bash 5 has EPOCHREALTIME; older bash falls back to whole seconds)
now_us() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t=${EPOCHREALTIME/[.,]/}
    printf '%s' "$t"
  else
    printf '%s000000' "$(date +%s)"
  fi
}

# YAML double-quoted scalar (also valid JSON): printable ASCII kept, \ " tab newline escaped, rest dropped
ystr() {
  local s
  s=$(printf '%s' "$1" | LC_ALL=C tr -cd '\11\12\15\40-\176')
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

yflow_list() {
  local out="" a
  for a in "$@"; do out+="${out:+, }$(ystr "$a")"; done
  printf '[%s]' "$out"
}

# A unique id for command records that sorts by start time (parallel workers add their own prefix).
# Sets SEQ (a function, not $(...): a subshell would not advance the counter).
_SEQ=0
next_seq() { _SEQ=$((_SEQ + 1)); printf -v SEQ '%s-%s%06d' "$(now_us)" "${SEQ_PREFIX:-m}" "$_SEQ"; }

add_failure() { next_seq; printf '%s\n' "$*" > "$STATE/failures/$SEQ.txt"; }

# run_cmd OUT -- argv...: run argv with stdout into $DUMP/OUT (atomically: only a finished command's
# output appears), record argv, exit code, start, duration and stderr tail. OUT may be "-" (no file)
# or an absolute path (a private scratch file, not part of the dump).
# Returns the command's exit code. Empty output of a failed command is not kept.
run_cmd() {
  local out=$1; shift; [ "$1" = "--" ] && shift
  local seq err tmp rc=0 started t0 t1 dur
  next_seq; seq=$SEQ
  err="$STATE/err.$seq"
  started=$(now_iso)
  t0=$(now_us)
  if [ "$out" = "-" ]; then
    "$@" > /dev/null 2> "$err" || rc=$?
  else
    local target="$DUMP/$out"
    case "$out" in /*) target=$out ;; esac  # an absolute path: a private file outside the dump
    mkdir -p "$(dirname "$target")"
    tmp="$target.partial.$seq"
    "$@" > "$tmp" 2> "$err" || rc=$?
    if [ "$rc" -eq 0 ]; then
      mv -f "$tmp" "$target"
    else
      rm -f "$tmp"
    fi
  fi
  t1=$(now_us)
  dur=$(( (t1 - t0) / 1000 ))
  {
    printf -- '- argv: %s\n' "$(yflow_list "$@")"
    printf '  exit_code: %s\n' "$rc"
    printf '  output: %s\n' "$(ystr "$(case "$out" in -|/*) ;; *) [ "$rc" -ne 0 ] || printf '%s' "$out" ;; esac)")"
    printf '  started_at: %s\n' "$(ystr "$started")"
    printf '  duration_s: %d.%03d\n' $((dur / 1000)) $((dur % 1000))
    printf '  stderr: %s\n' "$(ystr "$(tail -c 2000 "$err" 2>/dev/null)")"
  } > "$STATE/cmds/$seq.yaml"
  if [ "$rc" -ne 0 ]; then
    printf '%s\n' "$* (exit $rc): $(tail -n 1 "$err" 2>/dev/null | LC_ALL=C tr -cd '\40-\176' | cut -c1-300)" \
      > "$STATE/failures/$seq.txt"
  fi
  rm -f "$err"
  return "$rc"
}

# The `files:` section: every regular file of the dump but the metadata file, sorted.
files_section() {
  local f sum size
  printf 'files:\n'
  (cd "$DUMP" && find . -type f ! -name forensics-dump.yaml ! -name '*.partial.*' ! -name '*.partial' | LC_ALL=C sort) |
    while IFS= read -r f; do
      f=${f#./}
      sum=$(sha256sum "$DUMP/$f" | cut -d' ' -f1)
      size=$(wc -c < "$DUMP/$f" | tr -d ' ')
      printf -- '- {path: %s, sha256: %s, size: %s}\n' "$(ystr "$f")" "$sum" "$size"
    done
}

commands_section() {
  printf 'commands:\n'
  local f any=0
  for f in "$STATE"/cmds/*.yaml; do
    [ -e "$f" ] || continue
    cat "$f"; any=1
  done
  [ "$any" = 1 ] || printf '  []\n'
}

failures_section() {
  printf 'failures:\n'
  local f any=0
  for f in "$STATE"/failures/*.txt; do
    [ -e "$f" ] || continue
    printf -- '- %s\n' "$(ystr "$(cat "$f")")"; any=1
  done
  [ "$any" = 1 ] || printf '  []\n'
}

# tar a dump directory into OUT (one top folder, the dump's own name)
pack_dump() {
  local dir=$1 out=$2
  tar -C "$(dirname "$dir")" -czf "$out.partial" "$(basename "$dir")" && mv -f "$out.partial" "$out"
}
