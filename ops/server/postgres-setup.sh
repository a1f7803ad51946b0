#!/usr/bin/env bash
# postgres-setup.sh: a PostgreSQL role and database for the edgehr HR server (run once, as root, on the
# database host; running it again changes nothing).
#
#   ops/server/postgres-setup.sh [--role edgehr-server] [--db edgehr]
#
# The role logs in by peer authentication over the local socket (Debian's default pg_hba.conf line
# `local all all peer`): the server runs as the system user of the same name, so no password exists.
# Then set in /etc/edgehr-server/server.toml:
#   [server]
#   database_url = "postgresql://edgehr-server@/edgehr?host=/var/run/postgresql"
# Ingest workers on other hosts need a TCP login instead: create the role WITH PASSWORD yourself (from a
# secret store, never from this script), a `hostssl edgehr edgehr-server <subnet> scram-sha-256` line in
# pg_hba.conf, and the password in that host's ~/.pgpass (mode 600).
set -euo pipefail
role=edgehr-server db=edgehr
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role=${2:?}; shift 2 ;;
    --db) db=${2:?}; shift 2 ;;
    *) echo "postgres-setup: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$role$db" in *[!a-z0-9_-]*) echo "postgres-setup: role and database names: a-z 0-9 _ - only" >&2; exit 2 ;; esac
psql_as_postgres() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtAX "$@"; }

if [ "$(psql_as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" = 1 ]; then
  echo "ok       role $role"
else
  psql_as_postgres -c "CREATE ROLE \"$role\" LOGIN"
  echo "changed  made role $role (LOGIN, no password: peer authentication)"
fi
if [ "$(psql_as_postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ]; then
  echo "ok       database $db"
else
  psql_as_postgres -c "CREATE DATABASE \"$db\" OWNER \"$role\" ENCODING 'UTF8' TEMPLATE template0"
  echo "changed  made database $db owned by $role"
fi
echo "server.database_url = \"postgresql://$role@/$db?host=/var/run/postgresql\""
