# Convenience targets; the Go toolchain is all that is required.
IMAGE ?= wippyd:dev

.PHONY: build test image secrets up down

build:
	CGO_ENABLED=0 go build -o bin/wippyd ./cmd/wippyd

test:
	bash scripts/test.sh

# The image copies the static binary built here: compose cannot build Go,
# and FROM scratch needs no registry.
image: build
	docker build -t $(IMAGE) .

# The cluster secret and admin token docker-compose.yml mounts into the
# containers: 32 random bytes in base64 each, readable by their owner only.
# Existing files are kept (delete them to make new ones).
SECRETS ?= secrets
secrets: $(SECRETS)/cluster.key $(SECRETS)/admin.token

$(SECRETS)/cluster.key $(SECRETS)/admin.token:
	@mkdir -p $(SECRETS) && chmod 700 $(SECRETS)
	@umask 077 && head -c 32 /dev/urandom | base64 > $@
	@echo "made $@"

up: image secrets
	WIPPYD_SECRETS_DIR=$(SECRETS) docker-compose up -d

down:
	docker-compose down -v --remove-orphans
