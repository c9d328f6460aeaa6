#!/usr/bin/env bash
# Three-node wippyd cluster in docker-compose (examples/cluster), checked
# from the host through the published admin ports:
#   0. the nodes form a cluster: 3 alive members, one Raft leader, one coordinator
#   1. docker kill the coordinator's node: the others see it dead, a leader
#      remains and another node takes over the CONSISTENT name "coordinator"
#   2. docker network disconnect a node: the majority keeps a leader and sees
#      it dead; the cut-off node has no leader (no quorum)
#   3. reconnect (and restart the killed node): 3 alive members, one leader,
#      every node agrees on the leader and on the number of CONSISTENT names
#   4. docker-compose down -v leaves no container, network or volume behind
# Skips (exit 0) when docker is not usable. Needs go and docker-compose.
set -euo pipefail

cd "$(dirname "$0")/../.."
PROJECT=wippyd-test
COMPOSE=(docker-compose -p "$PROJECT")
NET="${PROJECT}_wippy"
declare -A PORT=([n1]=17961 [n2]=17962 [n3]=17963)
FAILED=0
START=$SECONDS

if ! docker info >/dev/null 2>&1; then
  echo "SKIP: docker is not available (docker info failed)"
  exit 0
fi
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "SKIP: docker-compose is not installed"
  exit 0
fi

WORK=$(mktemp -d)
cleanup() {
  "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
log() { echo "--- [$((SECONDS - START))s] $*"; }

container() { echo "${PROJECT}_$1_1"; }

# probe NODE: one status line, or "unreachable".
probe() { "$WORK/probe" "127.0.0.1:${PORT[$1]}" 2>/dev/null || true; }
field() { # field LINE KEY
  local kv
  for kv in $1; do
    if [[ $kv == "$2="* ]]; then echo "${kv#*=}"; return; fi
  done
}

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.5s; on
# timeout print the nodes' state and stop the test.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  while ((SECONDS < deadline)); do
    if "$@"; then pass "$what ($((SECONDS - START))s)"; return 0; fi
    sleep 0.5
  done
  fail "$what (not within ${limit}s)"
  for n in n1 n2 n3; do echo "    $n: $(probe "$n")"; done
  "${COMPOSE[@]}" logs --tail=20 2>&1 | grep -v 'component=raft' || true
  echo "FAIL: test/docker/run.sh"
  exit 1
}

# healthy NODES...: each node is ready, sees exactly these nodes alive and
# nothing else, and all agree on one leader and on the CONSISTENT name count.
healthy() {
  local want leader="" names="" n line
  want=$(IFS=,; echo "$*")
  for n in "$@"; do
    line=$(probe "$n")
    [[ $(field "$line" ready) == true ]] || return 1
    [[ $(field "$line" alive) == "$want" ]] || return 1
    local l c
    l=$(field "$line" leader); c=$(field "$line" consistent)
    [[ -n $l ]] || return 1
    [[ -z $leader || $leader == "$l" ]] || return 1
    [[ -z $names || $names == "$c" ]] || return 1
    leader=$l; names=$c
  done
  [[ $names -ge 1 ]] || return 1
}

now() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; } # for docker logs --since

coordinators() { # nodes (but $2) whose log says "became coordinator" since $1
  local n
  for n in n1 n2 n3; do
    [[ $n != "${2:-}" ]] || continue
    if docker logs --since "$1" "$(container "$n")" 2>&1 | grep -c 'msg="became coordinator"' >/dev/null; then echo "$n"; fi
  done
}

one_coordinator() { [[ $(coordinators "$T0" | wc -l) -eq 1 ]]; }

log "building bin/wippyd, the probe and wippyd:dev"
CGO_ENABLED=0 go build -o bin/wippyd ./cmd/wippyd
go build -o "$WORK/probe" ./test/docker/probe
docker build -q -t wippyd:dev . >/dev/null 2>&1
"${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true

log "starting n1 n2 n3"
T0=$(now)
"${COMPOSE[@]}" up -d >/dev/null 2>&1

# 0. the cluster forms
wait_for 60 "3 nodes ready, 3 alive members, one raft leader" healthy n1 n2 n3
wait_for 20 "exactly one node holds the name coordinator" one_coordinator
COORD=$(coordinators "$T0")
mapfile -t OTHERS < <(printf '%s\n' n1 n2 n3 | grep -vx "$COORD")
echo "    coordinator on $COORD"

# 1. kill the coordinator's node
log "scenario 1: docker kill $COORD"
T1=$(now)
docker kill "$(container "$COORD")" >/dev/null
dead_seen() {
  local n line
  for n in "${OTHERS[@]}"; do
    line=$(probe "$n")
    [[ $(field "$line" dead) == *"$COORD"* ]] || return 1
    [[ -n $(field "$line" leader) && $(field "$line" leader) != "$COORD" ]] || return 1
  done
}
wait_for 30 "${OTHERS[*]} see $COORD dead and keep a raft leader" dead_seen
took_over() { [[ -n $(coordinators "$T1" "$COORD") ]]; }
wait_for 30 "the name coordinator was released and taken over" took_over
NEWCOORD=$(coordinators "$T1" "$COORD")
NEWCOORD=${NEWCOORD%%$'\n'*}
echo "    coordinator now on ${NEWCOORD:-?}"
round_after() { docker logs --since "$T1" "$(container "${NEWCOORD:-n1}")" 2>&1 | grep -c 'msg="round done"' >/dev/null; }
wait_for 30 "the new coordinator completes a round without $COORD" round_after

log "restarting $COORD"
docker start "$(container "$COORD")" >/dev/null
wait_for 60 "$COORD is back: 3 alive members, one leader" healthy n1 n2 n3

# 2. partition: cut a node that is not the coordinator off the network
CUT=$COORD
mapfile -t MAJ < <(printf '%s\n' n1 n2 n3 | grep -vx "$CUT")
log "scenario 2: docker network disconnect $CUT"
docker network disconnect "$NET" "$(container "$CUT")"
majority_ok() {
  local n line
  for n in "${MAJ[@]}"; do
    line=$(probe "$n")
    [[ $(field "$line" dead) == *"$CUT"* ]] || return 1
    [[ -n $(field "$line" leader) && $(field "$line" leader) != "$CUT" ]] || return 1
  done
}
wait_for 30 "majority ${MAJ[*]} keeps a leader and sees $CUT dead" majority_ok
# The cut-off node's own view, read inside its container (the published
# port goes through the network it was removed from).
minority_view() { docker exec "$(container "$CUT")" /wippyd status --addr 127.0.0.1:7960 2>/dev/null | grep '^raft:' || true; }
minority_no_leader() { [[ $(minority_view) == *"leader ,"* ]]; }
wait_for 30 "$CUT alone has no raft leader" minority_no_leader
echo "    $CUT: $(minority_view)"

# 3. heal
log "scenario 3: docker network connect $CUT"
docker network connect --alias "$CUT" "$NET" "$(container "$CUT")"
wait_for 60 "healed: 3 alive members, one leader, same names on every node" healthy n1 n2 n3
for n in n1 n2 n3; do echo "    $n: $(probe "$n")"; done

# 4. teardown
log "scenario 4: docker-compose down -v"
"${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1
left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
nets=$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
vols=$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
if [[ $left -eq 0 && $nets -eq 0 && $vols -eq 0 ]]; then
  pass "down -v left no containers, networks or volumes"
else
  fail "down -v left $left containers, $nets networks, $vols volumes"
fi

log "done"
if ((FAILED)); then
  echo "FAIL: test/docker/run.sh"
  exit 1
fi
echo "PASS: test/docker/run.sh ($((SECONDS - START))s)"
