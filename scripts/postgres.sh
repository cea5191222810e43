#!/usr/bin/env bash
# Throwaway PostgreSQL for the database tests.
#
# Usage:
#   eval "$(scripts/postgres.sh start)"   start (installing Debian's postgresql
#                                         if needed) and export
#                                         IMBRIDGE_TEST_POSTGRES_URI
#   scripts/postgres.sh uri               print the export line again
#   scripts/postgres.sh stop              stop the server and delete its data
#
# The cluster lives in $IMBRIDGE_PG_DIR (default /tmp/imbridge-pg), belongs
# to the postgres user (the server refuses to run as root), and listens on
# 127.0.0.1 only, on a free port. Everything except the export line goes to
# stderr, so the output can be eval'ed.
set -euo pipefail

DIR="${IMBRIDGE_PG_DIR:-/tmp/imbridge-pg}"
DATA="$DIR/data"
STATE="$DIR/uri"
DB_NAME=imbridge_test
DB_USER=imbridge

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'postgres.sh: error: %s\n' "$*" >&2; exit 1; }

as_postgres() { runuser -u postgres -- "$@"; }

# pg_bindir prints the bin directory of the newest installed PostgreSQL.
pg_bindir() {
	local dir
	dir="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
	[[ -x "$dir/initdb" ]] || return 1
	echo "$dir"
}

ensure_installed() {
	if pg_bindir >/dev/null; then
		return
	fi
	[[ "$(id -u)" == 0 ]] || die "postgresql is not installed and installing it needs root"
	log "installing Debian's postgresql"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
	pg_bindir >/dev/null || die "postgresql installed but no initdb found under /usr/lib/postgresql"
}

# free_port prints a TCP port nobody listens on at 127.0.0.1.
free_port() {
	local port
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "no free port found"
}

running() {
	local bin
	bin="$(pg_bindir)" || return 1
	[[ -f "$DATA/postmaster.pid" ]] && as_postgres "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

print_uri() {
	[[ -f "$STATE" ]] || die "no server state in $DIR; run: $0 start"
	echo "export IMBRIDGE_TEST_POSTGRES_URI='$(cat "$STATE")'"
}

cmd_start() {
	[[ "$(id -u)" == 0 ]] || die "must run as root (to act as the postgres user)"
	ensure_installed
	local bin
	bin="$(pg_bindir)"
	if running && [[ -f "$STATE" ]]; then
		log "postgres already running in $DIR"
		print_uri
		return
	fi
	# A half-set-up or stale directory is discarded: it is throwaway data.
	if [[ -d "$DATA" ]]; then
		as_postgres "$bin/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
	mkdir -p "$DIR"
	chown postgres:postgres "$DIR"
	chmod 700 "$DIR"

	local port password
	port="$(free_port)"
	password="$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	log "initdb in $DATA"
	# Local socket connections (used below to create the role) are trusted;
	# TCP needs the password.
	as_postgres "$bin/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
		--encoding=UTF8 --locale=C.UTF-8 >/dev/null
	log "starting postgres on 127.0.0.1:$port"
	as_postgres "$bin/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $DIR -c fsync=off -c full_page_writes=off" start >/dev/null ||
		{ tail -n 20 "$DIR/server.log" >&2; die "postgres did not start"; }
	as_postgres "$bin/psql" -h "$DIR" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<-EOF
		CREATE ROLE $DB_USER LOGIN PASSWORD '$password';
		CREATE DATABASE $DB_NAME OWNER $DB_USER;
	EOF
	echo "postgres://$DB_USER:$password@127.0.0.1:$port/$DB_NAME?sslmode=disable" >"$STATE"
	chmod 600 "$STATE"
	log "postgres ready (database $DB_NAME, user $DB_USER)"
	print_uri
}

cmd_stop() {
	local bin
	if bin="$(pg_bindir)" && [[ -d "$DATA" ]]; then
		as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
	log "postgres stopped, $DIR removed"
}

case "${1:-}" in
start) cmd_start ;;
uri) print_uri ;;
stop) cmd_stop ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
