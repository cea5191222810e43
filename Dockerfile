# imbridge container image.
#
#   docker build -t imbridge .
#   docker run --rm -v imbridge-data:/data imbridge   # 1st run: writes /data/config.yaml, stops
#   (edit config.yaml: homeserver, database, bridge.permissions, network.*)
#   docker run --rm -v imbridge-data:/data imbridge   # 2nd run: writes /data/registration.yaml, stops
#   (add registration.yaml to the homeserver's app_service_config_files)
#   docker run -d -v imbridge-data:/data -p 29330:29330 imbridge
#
# In config.yaml set appservice.hostname: 0.0.0.0 so the homeserver can reach
# the container, and network.metrics.listen: 0.0.0.0:8001 to scrape metrics.
# The written config (`imbridge -e`, as config.example.yaml) already has
# end-to-bridge encryption on, which Element's encrypted DMs with the bot need.

FROM golang:1.26-bookworm AS builder
WORKDIR /src
# Modules first, so code changes do not invalidate the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TAG=unknown
ARG COMMIT=unknown
# goolm: pure-Go olm for end-to-bridge encryption (no libolm needed);
# cgo stays on for SQLite (mattn/go-sqlite3).
RUN CGO_ENABLED=1 go build -tags goolm -trimpath \
	-ldflags "-s -w -X main.Tag=${TAG} -X main.Commit=${COMMIT} -X main.BuildTime=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	-o /out/imbridge ./cmd/imbridge

FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 1337 --user-group --home-dir /data --shell /usr/sbin/nologin imbridge \
	&& mkdir -p /data && chown imbridge:imbridge /data
COPY --from=builder /out/imbridge /usr/bin/imbridge
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER imbridge
WORKDIR /data
VOLUME /data
# Appservice API (the example config's appservice.port) and metrics.
EXPOSE 29330 8001
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
