#!/usr/bin/env bash
# Rotates the data key of a node's key file (docs/KEYS.md, "Rotating a data
# key").
#
#   certs/rotate-data-key.sh FILE           add a fresh data key and make it
#                                           the active one
#   certs/rotate-data-key.sh --retire FILE  drop every data key but the active
#                                           one (only after `unionsync-node
#                                           --reseal` has run)
#
# FILE is rewritten atomically (a temporary file renamed over it), keeping
# mode 0600. The node reads its key file when it starts: restart it after a
# rotation. Records written before the rotation keep opening with the old
# key until the reseal re-encrypts them.
set -euo pipefail

usage() {
  echo "usage: $0 [--retire] FILE" >&2
  exit 2
}

retire=0
if [[ $# -eq 2 && $1 == --retire ]]; then
  retire=1
  shift
fi
[[ $# -eq 1 ]] || usage
file=$1
[[ -f "$file" ]] || { echo "rotate-data-key: no key file at $file" >&2; exit 1; }

active=$(awk '$1 == "active" { print $2 }' "$file")
if [[ ! "$active" =~ ^[0-9]+$ ]]; then
  echo "rotate-data-key: $file has no 'active <number>' line" >&2
  exit 1
fi
umask 077
tmp=$(mktemp "$(dirname "$file")/.rotate.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [[ $retire -eq 1 ]]; then
  awk -v keep="$active" '!($1 == "data" && $2 != keep)' "$file" >"$tmp"
else
  next=$(awk 'BEGIN { m = 0 } $1 == "data" && $2 + 0 > m { m = $2 + 0 } END { print m + 1 }' "$file")
  key=$(openssl rand -hex 32)
  [[ "$key" =~ ^[0-9a-f]{64}$ ]] || { echo "rotate-data-key: openssl rand failed" >&2; exit 1; }
  awk -v next_id="$next" -v key="$key" '
    $1 == "active" { print "data " next_id " " key; print "active " next_id; next }
    { print }' "$file" >"$tmp"
fi
chmod 600 "$tmp"
# The node's service account must still own it when root runs this.
chown --reference="$file" "$tmp"
sync "$tmp"
mv "$tmp" "$file"
trap - EXIT
