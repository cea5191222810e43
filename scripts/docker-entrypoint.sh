#!/bin/sh
# Container entrypoint (see Dockerfile): first run writes the config and
# stops so it can be edited, the next writes the appservice registration and
# stops so the homeserver can load it, later runs start the bridge.
# Extra arguments are passed to imbridge (e.g. --ignore-unsupported-server).
set -eu

DATA="${IMBRIDGE_DATA:-/data}"
CONFIG="$DATA/config.yaml"
REGISTRATION="$DATA/registration.yaml"

cd "$DATA"
if [ ! -f "$CONFIG" ]; then
	imbridge -e -c "$CONFIG"
	echo "imbridge: wrote an example config to $CONFIG."
	echo "Edit it (homeserver.address, homeserver.domain, database, bridge.permissions,"
	echo "appservice.hostname: 0.0.0.0, network.*) and start the container again."
	echo "End-to-bridge encryption is on (Element encrypts DMs with the bot), as are delivery"
	echo "receipts and error notices, so people see what happened to their messages."
	exit 0
fi
if [ ! -f "$REGISTRATION" ]; then
	imbridge -g -c "$CONFIG" -r "$REGISTRATION"
	echo "imbridge: wrote the appservice registration to $REGISTRATION."
	echo "Add it to the homeserver's app_service_config_files, restart the homeserver,"
	echo "then start this container again."
	exit 0
fi
exec imbridge -c "$CONFIG" -r "$REGISTRATION" "$@"
