#!/usr/bin/env bash
# Synapse for the end-to-end tests and the demo.
#
# Debian bookworm has no matrix-synapse package, so we install the one from
# Debian sid into a debootstrap chroot. The chroot is cached (it takes a few
# minutes to build) and shared by the e2e tests (testenv/synapse) and
# cmd/imbridge-demo. Synapse runs with `chroot ROOT python3 -m
# synapse.app.homeserver`; the chroot shares the host network namespace, so
# 127.0.0.1 works in both directions.
#
# Usage: scripts/synapse.sh <command>
#   install   build the chroot if it is missing or half-done (idempotent)
#   check     exit 0 when the chroot is fully installed, 1 otherwise
#   path      print the chroot directory
#   version   print the installed Synapse version
#   run CMD.. run CMD inside the chroot (e.g. `run python3 -m synapse.app.homeserver --help`)
#   cleanup   unmount anything this script mounted inside the chroot
#   remove    delete the chroot
#
# Environment:
#   IMBRIDGE_SYNAPSE_ROOT   chroot directory (default /var/cache/imbridge/synapse-sid)
#   IMBRIDGE_DEBIAN_MIRROR  Debian mirror (default: the host's apt source)
set -euo pipefail

ROOT="${IMBRIDGE_SYNAPSE_ROOT:-/var/cache/imbridge/synapse-sid}"
# Stamp files live inside the chroot so removing the directory resets them.
DEBOOTSTRAP_STAMP="$ROOT/.imbridge-debootstrap-done"
INSTALL_STAMP="$ROOT/.imbridge-synapse-installed"
LOCK="${ROOT%/}.lock"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'synapse.sh: error: %s\n' "$*" >&2; exit 1; }

need_root() {
	[[ "$(id -u)" == 0 ]] || die "must run as root (debootstrap and chroot need it)"
}

# host_mirror prints the first non-security Debian URI from the host's apt
# sources (deb822 or one-line format), so the chroot uses the same mirror the
# host can reach.
host_mirror() {
	if [[ -n "${IMBRIDGE_DEBIAN_MIRROR:-}" ]]; then
		echo "$IMBRIDGE_DEBIAN_MIRROR"
		return
	fi
	local uri=""
	if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
		uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' /etc/apt/sources.list.d/*.sources |
			grep -v -e security -e nodesource -e google | grep '/debian/\?$' | head -n1 || true)"
	fi
	if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
		uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; break } }' \
			/etc/apt/sources.list | grep -v security | grep '/debian/\?$' | head -n1 || true)"
	fi
	echo "${uri:-http://deb.debian.org/debian}"
}

mount_proc() {
	mkdir -p "$ROOT/proc"
	if ! mountpoint -q "$ROOT/proc"; then
		mount -t proc proc "$ROOT/proc"
	fi
}

cleanup_mounts() {
	if [[ -d "$ROOT/proc" ]] && mountpoint -q "$ROOT/proc"; then
		umount "$ROOT/proc" || umount -l "$ROOT/proc" || true
	fi
}

ensure_host_debootstrap() {
	if command -v debootstrap >/dev/null; then
		return
	fi
	log "installing debootstrap on the host"
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
}

do_debootstrap() {
	local mirror
	mirror="$(host_mirror)"
	if [[ -d "$ROOT" ]]; then
		log "removing half-done chroot $ROOT"
		cleanup_mounts
		rm -rf --one-file-system "$ROOT"
	fi
	mkdir -p "$(dirname "$ROOT")"
	log "debootstrap --variant=minbase sid $ROOT $mirror (first time: a few minutes)"
	debootstrap --variant=minbase sid "$ROOT" "$mirror"
	touch "$DEBOOTSTRAP_STAMP"
}

configure_chroot() {
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
	# Never start services inside the chroot: the package's postinst would
	# otherwise try to launch its own Synapse.
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	# Mirrors (and snapshots of them) may serve a sid Release file whose
	# Valid-Until date has passed; accept it.
	cat >"$ROOT/etc/apt/apt.conf.d/99imbridge" <<-'EOF'
		Acquire::Check-Valid-Until "false";
		APT::Install-Recommends "false";
		Dpkg::Use-Pty "false";
	EOF
}

install_synapse() {
	log "apt-get install matrix-synapse inside the chroot"
	# Finishes a dpkg run that an interrupted install left half-done.
	chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 dpkg --configure -a
	chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		apt-get -o Acquire::Check-Valid-Until=false update
	chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		apt-get install -y --no-install-recommends matrix-synapse ca-certificates
	# The package's own instance is not used; our harness writes its own
	# config per run. Free the disk space taken by downloaded .debs.
	chroot "$ROOT" apt-get clean
	# Smoke test: Synapse and its Python dependencies import.
	chroot "$ROOT" python3 -c 'import synapse, synapse.app.homeserver; print("synapse", synapse.__version__)' >&2
}

# install_exit runs on any exit of an install: it unmounts what we mounted
# and explains a failure.
install_exit() {
	local rc=$?
	cleanup_mounts
	if [[ $rc -ne 0 ]]; then
		echo "synapse.sh: install failed (exit $rc); run it again to resume: a half-done chroot is repaired or rebuilt" >&2
	fi
}

cmd_install() {
	need_root
	trap install_exit EXIT
	mkdir -p "$(dirname "$LOCK")"
	exec 9>"$LOCK"
	if ! flock -n 9; then
		log "another install is running; waiting for it"
		flock 9
	fi
	if [[ -f "$INSTALL_STAMP" ]]; then
		log "Synapse chroot already installed at $ROOT ($(cat "$INSTALL_STAMP"))"
		return
	fi
	local start=$SECONDS
	ensure_host_debootstrap
	if [[ ! -f "$DEBOOTSTRAP_STAMP" ]]; then
		do_debootstrap
	else
		log "reusing debootstrapped chroot at $ROOT"
	fi
	configure_chroot
	mount_proc
	install_synapse
	cleanup_mounts
	chroot "$ROOT" python3 -c 'import synapse; print(synapse.__version__)' >"$INSTALL_STAMP"
	log "Synapse $(cat "$INSTALL_STAMP") installed in $ROOT in $((SECONDS - start))s"
}

cmd_check() {
	[[ -f "$INSTALL_STAMP" ]]
}

cmd_run() {
	need_root
	cmd_check || die "Synapse chroot not installed at $ROOT; run: $0 install"
	exec chroot "$ROOT" "$@"
}

main() {
	local cmd="${1:-}"
	shift || true
	case "$cmd" in
	install) cmd_install ;;
	check) cmd_check ;;
	path) echo "$ROOT" ;;
	version)
		cmd_check || die "Synapse chroot not installed at $ROOT"
		cat "$INSTALL_STAMP"
		;;
	run) cmd_run "$@" ;;
	cleanup) need_root; cleanup_mounts ;;
	remove)
		need_root
		cleanup_mounts
		rm -rf --one-file-system "$ROOT" "$LOCK"
		;;
	*)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
