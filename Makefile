# Convenience targets; the Go toolchain is all that is required.
IMAGE ?= wippyd:dev

.PHONY: build test image up down

build:
	CGO_ENABLED=0 go build -o bin/wippyd ./cmd/wippyd

test:
	bash scripts/test.sh

# The image copies the static binary built here: compose cannot build Go,
# and FROM scratch needs no registry.
image: build
	docker build -t $(IMAGE) .

up: image
	docker-compose up -d

down:
	docker-compose down -v --remove-orphans
