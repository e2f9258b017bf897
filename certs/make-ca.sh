#!/usr/bin/env bash
# Creates a DEVELOPMENT certificate authority for unionsync node certificates.
#
#   certs/make-ca.sh DIR
#
# Writes DIR/ca.key (EC P-256 private key, mode 0600) and DIR/ca.pem (self-signed,
# 10 years, CN "unionsync dev CA <random suffix>", basicConstraints CA:TRUE,
# keyUsage keyCertSign,cRLSign). Idempotent: if DIR/ca.pem and DIR/ca.key both
# exist nothing is done. Uses only the openssl command-line tool.
#
# Never commit the output (.gitignore ignores *.pem and *.key). Production CAs
# are operated by the city federation; see certs/README.md.
set -euo pipefail

usage() {
  echo "usage: $0 DIR" >&2
  exit 2
}

[[ $# -eq 1 && -n "$1" ]] || usage
dir=$1

if [[ -f "$dir/ca.pem" && -f "$dir/ca.key" ]]; then
  echo "make-ca: $dir/ca.pem and $dir/ca.key already exist; nothing to do" >&2
  exit 0
fi
if [[ -e "$dir/ca.pem" || -e "$dir/ca.key" ]]; then
  echo "make-ca: $dir holds only one of ca.pem / ca.key; refusing to overwrite" \
    "it (remove it to create a new CA)" >&2
  exit 1
fi

command -v openssl >/dev/null || {
  echo "make-ca: the openssl command-line tool is required" >&2
  exit 1
}

mkdir -p "$dir"
umask 077
tmp=$(mktemp -d "$dir/.make-ca.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

suffix=$(openssl rand -hex 4)
cat >"$tmp/ca.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = unionsync dev CA $suffix
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$tmp/ca.key" 2>/dev/null
openssl req -config "$tmp/ca.cnf" -new -x509 -sha256 -days 3650 \
  -set_serial "0x$(openssl rand -hex 16)" \
  -key "$tmp/ca.key" -out "$tmp/ca.pem"

chmod 0600 "$tmp/ca.key"
chmod 0644 "$tmp/ca.pem"
# The key first: a ca.pem without its key is never left behind.
mv -f -- "$tmp/ca.key" "$dir/ca.key"
mv -f -- "$tmp/ca.pem" "$dir/ca.pem"
echo "make-ca: created $dir/ca.pem (CN \"unionsync dev CA $suffix\") and $dir/ca.key" >&2
