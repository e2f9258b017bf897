#!/bin/bash
# The peer for bench/backup_bench: PostgreSQL 15's online base backup of the same number of
# member rows (the row shape of ../shared/bench/pg_logical_peer.sh), taken and verified with
# pg_basebackup and pg_verifybackup. Needs Debian's postgresql-15; run as root.
#   bench/pg_backup_peer.sh N
# Prints one line: rows, table size, backup seconds and bytes, verify seconds.
set -euo pipefail
N=${1:-1000000}
port=5460
cluster=pgbackup
bin=/usr/lib/postgresql/15/bin
P="runuser -u postgres -- psql -q -X -p $port"
if ! pg_lsclusters | grep -q "^15 *$cluster "; then
  pg_createcluster 15 $cluster -p $port >/dev/null
fi
pg_ctlcluster 15 $cluster start 2>/dev/null || true
$P -c "drop table if exists member;" \
  -c "create table member(id bigint primary key, org_id text, name text, id_number text, phone text, gender smallint, joined date, payload text);" \
  -c "insert into member select g, 'CS.01.003.'||(g%5000), 'name'||g, lpad(g::text,18,'4'), '138'||lpad(g::text,8,'0'), (g%2)::smallint, date '2019-06-01', repeat('x',150) from generate_series(1,$N) g;" \
  -c "checkpoint;"
size=$($P -tA -c "select pg_total_relation_size('member')")
out=/tmp/unionsync_pg_backup_peer
rm -rf "$out"
mkdir -p "$out"
chown postgres "$out"
t0=$(date +%s.%N)
runuser -u postgres -- $bin/pg_basebackup -p $port -D "$out/base" -X stream -c fast
t1=$(date +%s.%N)
runuser -u postgres -- $bin/pg_verifybackup -q "$out/base"
t2=$(date +%s.%N)
bytes=$(du -sb "$out/base" | cut -f1)
echo "pg_basebackup rows=$N table_bytes=$size backup_s=$(echo "$t1-$t0" | bc)" \
  "backup_bytes=$bytes verify_s=$(echo "$t2-$t1" | bc)"
rm -rf "$out"
pg_ctlcluster 15 $cluster stop
