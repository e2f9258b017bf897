#!/bin/sh
# Runs inside a clean Debian 12 root where apt has just installed
# unionsync-node and unionsync-cli (install_in_root.sh): checks what postinst
# made, configures the node the way docs/OPERATIONS.md says (unionsync-setup,
# the city signs the request and makes the key file), starts the node with
# the systemd unit's own ExecStart as the unit's User=, stops it, then removes
# the packages. Prints "CHECK <what>" lines for the test to read; exits
# non-zero at the first failure.
set -eu
fail() { echo "FAIL $*"; exit 1; }
check() { echo "CHECK $*"; }

getent passwd unionsync >/dev/null || fail "no unionsync account"
[ "$(stat -c '%U:%G %a' /var/lib/unionsync)" = "unionsync:unionsync 750" ] ||
  fail "/var/lib/unionsync is $(stat -c '%U:%G %a' /var/lib/unionsync)"
[ "$(stat -c '%U:%G %a' /var/backups/unionsync)" = "unionsync:unionsync 750" ] ||
  fail "/var/backups/unionsync is $(stat -c '%U:%G %a' /var/backups/unionsync)"
[ "$(stat -c '%U:%G %a' /etc/unionsync)" = "root:unionsync 750" ] ||
  fail "/etc/unionsync is $(stat -c '%U:%G %a' /etc/unionsync)"
check "postinst made the account and the directories"

# The operator's first run, then the city's part (in the city, in real life).
UNIONSYNC_SAN=DNS:localhost,IP:127.0.0.1 unionsync-setup 430102 430100 127.0.0.1:1
mkdir -p /root/city
bash /tmp/certs/make-ca.sh /root/city >/dev/null 2>&1 || fail "make-ca.sh"
openssl x509 -req -in /etc/unionsync/430102.csr -CA /root/city/ca.pem \
  -CAkey /root/city/ca.key -days 30 -copy_extensions copy \
  -out /etc/unionsync/430102.pem 2>/dev/null || fail "signing the request"
cp /root/city/ca.pem /etc/unionsync/ca.pem
bash /tmp/certs/make-node-keys.sh /root/city 430102 >/dev/null 2>&1 ||
  fail "make-node-keys.sh"
# As unionsync-setup says: the key file readable by the service only.
install -o unionsync -g unionsync -m 0600 /root/city/430102.keys \
  /etc/unionsync/430102.keys
chgrp unionsync /etc/unionsync/430102.pem /etc/unionsync/ca.pem
check "configured with unionsync-setup"

# The unit's command line, run as the unit's user (no systemd as PID 1 in a
# chroot; setpriv execs it, as systemd does); loopback ports chosen by the
# kernel override the file's.
unit=/usr/lib/systemd/system/unionsync-node@.service
exec_line=$(sed -n 's/^ExecStart=//p' "$unit" | sed 's/%i/430102/g')
user=$(sed -n 's/^User=//p' "$unit")
[ "$user" = unionsync ] || fail "unit runs as '$user'"
port_file=/var/lib/unionsync/port
rm -f "$port_file"
setpriv --reuid="$user" --regid="$user" --init-groups -- $exec_line --listen=127.0.0.1:0 \
  --web_listen=127.0.0.1:0 --repl_listen=127.0.0.1:0 \
  --port_file="$port_file" >/tmp/node.log 2>&1 &
pid=$!
i=0
while [ ! -s "$port_file" ]; do
  kill -0 $pid 2>/dev/null || { cat /tmp/node.log; fail "the node exited"; }
  i=$((i + 1))
  [ $i -lt 300 ] || { cat /tmp/node.log; fail "the node did not start"; }
  sleep 0.1
done
[ "$(stat -c %U /var/lib/unionsync/430102/CURRENT)" = unionsync ] ||
  fail "the store is not the service account's"
grep -q '"node":"430102"' /tmp/node.log || fail "no JSON log line"
check "the unit's ExecStart started the node as $user: $(stat -c %U /proc/$pid)"
kill -TERM $pid
status=0
wait $pid || status=$?
[ $status -eq 0 ] || { cat /tmp/node.log; fail "stopped with status $status"; }
check "stopped cleanly on SIGTERM"

unionctl backup --help | grep -q "backup restore" || fail "unionctl"
check "unionctl answers"

# Removing the packages never removes a union's data or keys.
apt-get remove -y -q unionsync-node unionsync-cli >/dev/null 2>&1 ||
  fail "apt-get remove"
[ ! -e /usr/bin/unionsync-node ] || fail "the binary is still there"
[ -f /var/lib/unionsync/430102/CURRENT ] || fail "remove deleted the store"
[ -f /etc/unionsync/430102.keys ] || fail "remove deleted the key file"
check "removed; the store and the keys stay"
