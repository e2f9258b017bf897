#!/usr/bin/env bash
# Issues a DEVELOPMENT node certificate for one organisation, signed by the CA
# that certs/make-ca.sh created in DIR.
#
#   certs/make-node-cert.sh DIR ORG_ID
#
# Writes DIR/<ORG_ID>.key (EC P-256, mode 0600) and DIR/<ORG_ID>.pem (2 years):
#   subject CN = ORG_ID (the organisation id the peer is authenticated as),
#   subjectAltName = URI:unionsync://org/<ORG_ID>, DNS:localhost, IP:127.0.0.1
#     (so the same certificate also serves as a server certificate on loopback),
#   extendedKeyUsage = serverAuth, clientAuth.
# ORG_ID must match [a-z0-9.-]{1,64} and not start with '.' or '-'.
# Idempotent: if the key and certificate exist, match each other and verify
# against DIR/ca.pem (not expired), nothing is done; otherwise they are reissued.
set -euo pipefail

usage() {
  echo "usage: $0 DIR ORG_ID" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
dir=$1
org=$2

if [[ ! "$org" =~ ^[a-z0-9][a-z0-9.-]{0,63}$ ]]; then
  echo "make-node-cert: invalid organisation id '$org' (want [a-z0-9.-]{1,64}," \
    "not starting with '.' or '-')" >&2
  exit 2
fi
if [[ ! -f "$dir/ca.pem" || ! -f "$dir/ca.key" ]]; then
  echo "make-node-cert: $dir/ca.pem or $dir/ca.key missing; run certs/make-ca.sh $dir first" >&2
  exit 1
fi
command -v openssl >/dev/null || {
  echo "make-node-cert: the openssl command-line tool is required" >&2
  exit 1
}

key="$dir/$org.key"
pem="$dir/$org.pem"

# True if $pem is valid now for TLS client and server use under ca.pem, has
# CN = $org and belongs to $key.
existing_is_valid() {
  [[ -f "$key" && -f "$pem" ]] || return 1
  openssl verify -CAfile "$dir/ca.pem" -purpose sslclient "$pem" >/dev/null 2>&1 || return 1
  openssl verify -CAfile "$dir/ca.pem" -purpose sslserver "$pem" >/dev/null 2>&1 || return 1
  local subject cert_pub key_pub
  subject=$(openssl x509 -in "$pem" -noout -subject -nameopt RFC2253 2>/dev/null) || return 1
  [[ "$subject" == "subject=CN=$org" ]] || return 1
  cert_pub=$(openssl x509 -in "$pem" -noout -pubkey 2>/dev/null) || return 1
  key_pub=$(openssl pkey -in "$key" -pubout 2>/dev/null) || return 1
  [[ "$cert_pub" == "$key_pub" ]]
}

if existing_is_valid; then
  echo "make-node-cert: $pem is already valid for this CA; nothing to do" >&2
  exit 0
fi
if [[ -e "$key" || -e "$pem" ]]; then
  echo "make-node-cert: reissuing $pem (missing, expired, mismatched or from another CA)" >&2
fi

umask 077
tmp=$(mktemp -d "$dir/.make-node-cert.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

cat >"$tmp/ext.cnf" <<CNF
[v3_node]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = URI:unionsync://org/$org, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
CNF

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$tmp/node.key" 2>/dev/null
openssl req -new -sha256 -key "$tmp/node.key" -subj "/CN=$org" -out "$tmp/node.csr"
openssl x509 -req -sha256 -days 730 -in "$tmp/node.csr" \
  -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" \
  -extfile "$tmp/ext.cnf" -extensions v3_node \
  -out "$tmp/node.pem" 2>/dev/null

chmod 0600 "$tmp/node.key"
chmod 0644 "$tmp/node.pem"
mv -f -- "$tmp/node.key" "$key"
mv -f -- "$tmp/node.pem" "$pem"
echo "make-node-cert: issued $pem (CN=$org) and $key" >&2
