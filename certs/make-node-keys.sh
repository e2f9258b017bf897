#!/usr/bin/env bash
# Creates a node's key file for personal data at rest (docs/KEYS.md).
#
#   certs/make-node-keys.sh DIR ORG_ID
#
# DIR/index.key holds the city-wide index key (64 hex digits): created once,
# by the city, and copied to every node's key file, because the keyed hash of
# an ID number must be the same at every node for the hub to find one person
# in two unions. DIR/<ORG_ID>.keys is the node's key file (mode 0600):
#   index 1 <the index key>
#   data 1 <a fresh, node-local AES-256 key>
#   active 1
# Pass the file to the node with --key_file. Keep it outside the data
# directory and back it up apart from the data: without it the ID and phone
# numbers in the store cannot be read.
# Idempotent: an existing key file is never touched (a second data key is
# added with certs/rotate-data-key.sh).
set -euo pipefail

usage() {
  echo "usage: $0 DIR ORG_ID" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
dir=$1
org=$2
if [[ ! "$org" =~ ^[a-z0-9][a-z0-9.-]{0,63}$ ]]; then
  echo "make-node-keys: invalid organisation id '$org' (want [a-z0-9.-]{1,64}," \
    "not starting with '.' or '-')" >&2
  exit 2
fi

umask 077
mkdir -p "$dir"
index="$dir/index.key"
if [[ ! -e "$index" ]]; then
  tmp=$(mktemp "$dir/.index.key.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  openssl rand -hex 32 >"$tmp"
  sync "$tmp"
  # -n: a concurrent run that got there first wins; both then use its key.
  mv -n "$tmp" "$index"
  rm -f "$tmp"
  trap - EXIT
fi
key=$(tr -d ' \n' <"$index")
if [[ ! "$key" =~ ^[0-9a-f]{64}$ ]]; then
  echo "make-node-keys: $index does not hold 64 lowercase hex digits" >&2
  exit 1
fi

file="$dir/$org.keys"
[[ -e "$file" ]] && exit 0
data=$(openssl rand -hex 32)
[[ "$data" =~ ^[0-9a-f]{64}$ ]] || { echo "make-node-keys: openssl rand failed" >&2; exit 1; }
tmp=$(mktemp "$dir/.$org.keys.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  echo "# unionsync key file of node $org (docs/KEYS.md). Mode 0600; keep it"
  echo "# outside the data directory and back it up apart from the data."
  echo "index 1 $key"
  echo "data 1 $data"
  echo "active 1"
} >"$tmp"
chmod 600 "$tmp"
sync "$tmp"
# -n: never replace a key file, even one a concurrent run just wrote.
mv -n "$tmp" "$file"
