# wippyd image, built from a static binary compiled on the host: no base
# image is pulled (FROM scratch), so it builds with no registry access.
#   make image        # = CGO_ENABLED=0 go build -o bin/wippyd ./cmd/wippyd && docker build -t wippyd:dev .
FROM scratch
COPY bin/wippyd /wippyd
COPY examples/cluster /app
WORKDIR /
VOLUME ["/data"]
ENTRYPOINT ["/wippyd"]
CMD ["run", "--src", "/app"]
