#!/bin/sh
# Installs the unionsync packages with apt into a clean Debian 12 root made
# by mmdebstrap from Debian's archive (the dependencies come from there, as on
# an operator's server), then runs in_root.sh inside it.
#
#   install_in_root.sh ROOT_DIR SOURCE_DIR NODE_DEB CLI_DEB
set -eu
root=$1 src=$2 node_deb=$3 cli_deb=$4
here=$(dirname "$0")
# The host's Debian sources (the same archive the build's libraries came from).
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
mmdebstrap --quiet --mode=root --variant=apt --format=directory \
  --include="$node_deb" --include="$cli_deb" \
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  --customize-hook='mkdir -p "$1/tmp/certs"' \
  --customize-hook="copy-in $src/certs/make-ca.sh $src/certs/make-node-keys.sh /tmp/certs" \
  --customize-hook="copy-in $here/in_root.sh /tmp" \
  --customize-hook='chroot "$1" sh /tmp/in_root.sh' \
  bookworm "$root" "$sources"
