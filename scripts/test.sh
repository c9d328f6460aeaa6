#!/usr/bin/env bash
# The full test suite: formatting, vet, every package under -race, the
# 100,000-process tests without -race (build tag "scale"), and the docker
# cluster tests when a Docker engine answers. .ci/run calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then
  echo "gofmt would change:"; echo "$bad"; exit 1
fi

echo "== go mod tidy"
if ! go mod tidy -diff; then
  echo "go.mod or go.sum is not tidy: run go mod tidy"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -timeout 15m ./...

echo "== 100,000-process tests (tag scale, no -race)"
go test -tags scale -count=1 -timeout 10m -run 'NoLeak' ./runtime

if [ -x test/docker/run.sh ]; then
  if docker info >/dev/null 2>&1; then
    echo "== docker cluster tests"
    test/docker/run.sh
  else
    echo "== docker cluster tests SKIPPED: 'docker info' failed (no Docker engine here)"
  fi
fi
echo "== all tests passed"
