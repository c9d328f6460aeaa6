#!/usr/bin/env bash
# Three-node wippyd cluster in docker-compose (examples/cluster), checked
# from the host through the published admin ports and, where a node is cut
# off, from inside its container. The cluster secret and the admin token
# are files made here and mounted into the containers (docker-compose.yml).
#   0. the nodes form a cluster: 3 alive members, one Raft leader, and every
#      replica names the same owner for the CONSISTENT name "coordinator";
#      no node warns about its configuration; /v1/status refuses a request
#      without the admin token; a rogue node with no key and one with a
#      wrong key, started on the cluster's network, never become members
#   1. docker kill the coordinator's node: the others see it dead, a leader
#      remains, the name is released and taken over, the new coordinator
#      completes a round; the killed node is started again
#   2. docker network disconnect the coordinator's node: the majority keeps
#      a leader, sees it dead and hands the name to one of its standbys; the
#      cut-off node has no leader and still names its own process. A
#      `wippyd run -x` client (examples/cluster/claim) in the cut-off
#      container fails to register a CONSISTENT name with UNAVAILABLE
#      within cluster.raft.apply_timeout; one in a majority container
#      registers the same name and holds it
#   3. reconnect: 3 alive members, one leader, every replica names the same
#      owner for every CONSISTENT name (the majority's coordinator and the
#      client); the old coordinator steps down on "name revoked", and after
#      that only the owner runs rounds; the client's name is released when
#      it exits
#   4. docker pause a node that does not hold "coordinator" until the others
#      see it dead, then unpause it: it is alive again, and within 30s two
#      of the coordinator's rounds run jobs on it (remote spawns to it and
#      results from it), so messages reach it again both ways
#   5. docker-compose --profile scale up --scale node=2: two nodes that name
#      no other node join through wippy-nodes, the DNS name that resolves to
#      every node: 5 alive members, one leader
#   6. docker-compose down -v leaves no container, network or volume behind
# Skips (exit 0) when docker is not usable. Needs go and docker-compose.
set -euo pipefail
export LC_ALL=C # sort like the probe (byte order)

cd "$(dirname "$0")/../.."
PROJECT=wippyd-test
COMPOSE=(docker-compose -p "$PROJECT")
NET="${PROJECT}_wippy"
declare -A PORT=([n1]=17961 [n2]=17962 [n3]=17963)
# The clients' cluster.raft.apply_timeout (the default), and how much later
# than it a refused register may come back.
APPLY_TIMEOUT_MS=5000
SLACK_MS=1000
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
HOLDER="" # pid of the background client holding a name
ROGUES=(rogue-nokey rogue-badkey)
cleanup() {
  if [[ -n $HOLDER ]]; then kill "$HOLDER" 2>/dev/null || true; fi
  for r in "${ROGUES[@]}"; do docker rm -f "${PROJECT}_$r" >/dev/null 2>&1 || true; done
  "${COMPOSE[@]}" --profile scale down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
log() { echo "--- [$((SECONDS - START))s] $*"; }
stop_test() {
  for n in n1 n2 n3; do echo "    $n: $(probe "$n")"; done
  "${COMPOSE[@]}" logs --tail=20 2>&1 | grep -v 'component=raft' || true
  echo "FAIL: test/docker/run.sh"
  exit 1
}

container() { echo "${PROJECT}_$1_1"; }

# The secrets: 32 random bytes in base64 each, readable by their owner
# only, in a directory docker-compose.yml reads through WIPPYD_SECRETS_DIR.
SECRETS="$WORK/secrets"
mkdir -m 700 "$SECRETS"
(umask 077
  for f in cluster.key admin.token rogue.key; do head -c 32 /dev/urandom | base64 >"$SECRETS/$f"; done)
export WIPPYD_SECRETS_DIR="$SECRETS"

# probe NODE: one status line, or "unreachable".
probe() { "$WORK/probe" -token-file "$SECRETS/admin.token" "127.0.0.1:${PORT[$1]}" 2>/dev/null || true; }
field() { # field LINE KEY
  local -a kvs
  local kv
  read -ra kvs <<<"$1"
  for kv in "${kvs[@]}"; do
    if [[ $kv == "$2="* ]]; then echo "${kv#*=}"; return; fi
  done
}
has() { [[ ",$2," == *",$1,"* ]]; } # has ITEM LIST: LIST (comma-separated) holds ITEM
owner() { # owner NAME LINE: the PID holding NAME in a probe line, or ""
  local -a kvs
  local kv
  IFS=, read -ra kvs <<<"$(field "$2" owners)"
  for kv in "${kvs[@]}"; do
    if [[ ${kv%%=*} == "$1" ]]; then echo "${kv#*=}"; return; fi
  done
}
node_of() { local p=${1#\{}; echo "${p%%@*}"; } # node_of PID

# agreed NAME NODES...: prints the owner of NAME if the replicas of all
# NODES name the same one; fails if they differ or nobody holds it.
agreed() {
  local name=$1 p="" o n
  shift
  for n in "$@"; do
    o=$(owner "$name" "$(probe "$n")")
    [[ -n $o && (-z $p || $p == "$o") ]] || return 1
    p=$o
  done
  echo "$p"
}

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.5s; on
# timeout print the nodes' state and stop the test.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  while ((SECONDS < deadline)); do
    if "$@"; then pass "$what ($((SECONDS - START))s)"; return 0; fi
    sleep 0.5
  done
  fail "$what (not within ${limit}s)"
  stop_test
}

# healthy NODES...: each node is ready and sees exactly these nodes and the
# clients in $CLIENTS alive; all agree on one leader and on the owner of
# every CONSISTENT name, and somebody holds "coordinator".
CLIENTS=""
healthy() {
  local want leader="" owners="" n line l o
  want=$(printf '%s\n' "$@" $CLIENTS | sort | paste -sd, -)
  for n in "$@"; do
    line=$(probe "$n")
    [[ $(field "$line" ready) == true && $(field "$line" alive) == "$want" ]] || return 1
    l=$(field "$line" leader)
    o=$(field "$line" owners)
    [[ -n $l && $o != "?" ]] || return 1
    [[ -z $leader || ($leader == "$l" && $owners == "$o") ]] || return 1
    leader=$l
    owners=$o
  done
  [[ -n $(owner coordinator "$line") ]]
}

now() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; } # for docker logs --since
logged() { # logged NODE SINCE PATTERN: NODE's log has PATTERN since SINCE
  logged_c "$(container "$1")" "$2" "$3"
}
logged_c() { # logged_c CONTAINER SINCE PATTERN
  docker logs --since "$2" "$1" 2>&1 | grep -q -- "$3"
}

# client NODE NAME [--set K=V]...: sets CLIENT to the command that runs
# `wippyd run -x claim:main` inside NODE's container as cluster client
# NAME; append the program's arguments. The container's WIPPY_* variables
# carry the node's own name, ports, admin address and data directory, so
# the client overrides them; it joins through the node on the loopback.
# -v: a -x program logs warnings and errors only, and the checks read the
# client's info lines ("joined cluster").
client() {
  local n=$1 name=$2
  shift 2
  CLIENT=(docker exec -i "$(container "$n")" /wippyd run -v --src /app/claim
    --set node.name="$name" --set admin.addr=
    --set cluster.membership.bind_port=0 --set cluster.internode.auto_port=false
    --set cluster.membership.join_addrs=127.0.0.1:7946
    --set cluster.raft.data_dir=/tmp/wippyd-client
    --set cluster.raft.apply_timeout="${APPLY_TIMEOUT_MS}ms"
    "$@" -x claim:main)
}

log "building bin/wippyd, the probe and wippyd:dev"
CGO_ENABLED=0 go build -o bin/wippyd ./cmd/wippyd
go build -o "$WORK/probe" ./test/docker/probe
docker build -q -t wippyd:dev . >/dev/null 2>&1
"${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true

log "starting n1 n2 n3"
"${COMPOSE[@]}" up -d >/dev/null 2>&1

# 0. the cluster forms
wait_for 60 "3 nodes ready, 3 alive members, one raft leader, one owner of every name" healthy n1 n2 n3
warned=""
for n in n1 n2 n3; do
  if docker logs "$(container "$n")" 2>&1 | grep -q 'unsafe configuration'; then warned+=" $n"; fi
done
if [[ -z $warned ]]; then pass "no node warns about its configuration"; else fail "unsafe configuration logged by$warned"; fi
if [[ $("$WORK/probe" "127.0.0.1:${PORT[n1]}" 2>/dev/null) == unreachable ]]; then
  pass "/v1/status without the admin token is refused"
else
  fail "/v1/status answered without the admin token"
fi

# Rogue nodes on the cluster's network try to join through every node: one
# with no key (told it may run without one), one with a key of its own.
log "rogue nodes: no key, wrong key"
rogue() { # rogue NAME FLAGS...: start a node on the network, not a member
  local name=$1
  shift
  docker run -d --name "${PROJECT}_$name" --network "$NET" \
    -v "$SECRETS/rogue.key:/run/secrets/rogue_key:ro" wippyd:dev run --src /app/claim \
    --set node.name="$name" --set cluster.enabled=true --set cluster.raft.enabled=false \
    --set cluster.membership.join_addrs=n1:7946,n2:7946,n3:7946 --set admin.addr= "$@" >/dev/null
}
T0=$(now)
rogue rogue-nokey --set cluster.insecure=true
rogue rogue-badkey --set cluster.membership.secret_file=/run/secrets/rogue_key
refused() { # both rogues have given up their first join
  local r
  for r in "${ROGUES[@]}"; do logged_c "${PROJECT}_$r" "$T0" 'cluster join failed' || return 1; done
}
wait_for 30 "both rogue nodes fail to join" refused
member_seen=""
for n in n1 n2 n3; do
  line=$(probe "$n")
  for r in "${ROGUES[@]}"; do
    if [[ $line == *"$r"* ]]; then member_seen+=" $r@$n"; fi
  done
done
if [[ -z $member_seen ]]; then pass "no node lists a rogue node"; else fail "rogue nodes listed:$member_seen"; fi
for r in "${ROGUES[@]}"; do docker rm -f "${PROJECT}_$r" >/dev/null; done

COORD=$(node_of "$(agreed coordinator n1 n2 n3)")
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
    has "$COORD" "$(field "$line" dead)" || return 1
    [[ -n $(field "$line" leader) && $(field "$line" leader) != "$COORD" ]] || return 1
  done
}
wait_for 30 "${OTHERS[*]} see $COORD dead and keep a raft leader" dead_seen
taken_over() { # the survivors agree on a coordinator on another node
  local p
  p=$(agreed coordinator "${OTHERS[@]}") || return 1
  [[ $(node_of "$p") != "$COORD" ]]
}
wait_for 30 "the name coordinator was released and taken over" taken_over
NEWCOORD=$(node_of "$(agreed coordinator "${OTHERS[@]}")")
echo "    coordinator now on $NEWCOORD"
round_after() { logged "$NEWCOORD" "$T1" 'msg="round done"'; }
wait_for 30 "the new coordinator completes a round without $COORD" round_after

log "restarting $COORD"
docker start "$(container "$COORD")" >/dev/null
wait_for 60 "$COORD is back: 3 alive members, one leader, one owner of every name" healthy n1 n2 n3

# 2. partition: cut the coordinator's node off the network
OLDPID=$(agreed coordinator n1 n2 n3)
CUT=$(node_of "$OLDPID")
mapfile -t MAJ < <(printf '%s\n' n1 n2 n3 | grep -vx "$CUT")
log "scenario 2: docker network disconnect $CUT (the coordinator's node)"
docker network disconnect "$NET" "$(container "$CUT")"
majority_ok() {
  local n line
  for n in "${MAJ[@]}"; do
    line=$(probe "$n")
    has "$CUT" "$(field "$line" dead)" || return 1
    [[ -n $(field "$line" leader) && $(field "$line" leader) != "$CUT" ]] || return 1
  done
}
wait_for 30 "majority ${MAJ[*]} keeps a leader and sees $CUT dead" majority_ok
majority_coord() {
  local p
  p=$(agreed coordinator "${MAJ[@]}") || return 1
  has "$(node_of "$p")" "$(IFS=,; echo "${MAJ[*]}")"
}
wait_for 30 "the majority hands the name coordinator to one of its nodes" majority_coord
MAJPID=$(agreed coordinator "${MAJ[@]}")
# The cut-off node's own view, read inside its container (the published
# port goes through the network it was removed from).
minority_view() { docker exec "$(container "$CUT")" /wippyd status --addr 127.0.0.1:7960 2>/dev/null || true; }
minority_no_leader() { [[ $(minority_view | grep '^raft:') == *"leader ,"* ]]; }
wait_for 30 "$CUT alone has no raft leader" minority_no_leader
VIEW=$(minority_view | grep -E '^(raft:|coordinator )' || true)
echo "$VIEW" | sed 's/^/    '"$CUT"': /'
if grep -qF "$OLDPID" <<<"$VIEW"; then
  pass "$CUT's replica still names its own $OLDPID coordinator; the majority's names $MAJPID"
else
  fail "$CUT's replica does not name $OLDPID as coordinator"
fi

# A client in the cut-off container can only reach its own node; with no
# address but the loopback left, it binds there.
log "register partition-claim from a client on $CUT (no quorum)"
client "$CUT" client-cut --set cluster.membership.bind_addr=127.0.0.1
t0=$SECONDS
rc=0
OUT=$(timeout 60 "${CLIENT[@]}" partition-claim </dev/null 2>"$WORK/cut.err") || rc=$?
echo "    $CUT: $OUT (exit $rc; $((SECONDS - t0))s with the client's start and stop)"
if ! grep -q 'msg="joined cluster"' "$WORK/cut.err"; then
  fail "the client on $CUT did not join its node"
  tail -20 "$WORK/cut.err"
elif [[ $OUT =~ ^refused\ partition-claim\ UNAVAILABLE\ in\ ([0-9]+)ms ]] && ((rc == 1)); then
  ms=${BASH_REMATCH[1]}
  if ((ms <= APPLY_TIMEOUT_MS + SLACK_MS)); then
    pass "the minority cannot register: UNAVAILABLE after ${ms}ms (apply_timeout ${APPLY_TIMEOUT_MS}ms)"
  else
    fail "the minority's register took ${ms}ms, more than apply_timeout ${APPLY_TIMEOUT_MS}ms + ${SLACK_MS}ms"
  fi
else
  fail "the minority's register did not fail with UNAVAILABLE (exit $rc)"
  tail -20 "$WORK/cut.err"
fi

log "register partition-claim from a client on ${MAJ[0]} and hold it"
client "${MAJ[0]}" client-maj
mkfifo "$WORK/hold.in"
timeout 300 "${CLIENT[@]}" partition-claim hold <"$WORK/hold.in" >"$WORK/hold.out" 2>"$WORK/hold.err" &
HOLDER=$!
exec 3>"$WORK/hold.in" # the client's stdin: it holds the name until this closes
CLIENTS=client-maj
answered() { grep -q '^registered \|^refused ' "$WORK/hold.out" || ! kill -0 "$HOLDER" 2>/dev/null; }
wait_for 30 "the majority client answers" answered
if grep -q '^registered partition-claim ' "$WORK/hold.out"; then
  HOLDPID=$(awk '/^registered partition-claim /{print $3}' "$WORK/hold.out")
  pass "the majority can register: $(cat "$WORK/hold.out")"
else
  fail "the majority's register failed: $(cat "$WORK/hold.out")"
  tail -20 "$WORK/hold.err"
  stop_test
fi

# 3. heal
log "scenario 3: docker network connect $CUT"
T3=$(now)
docker network connect --alias "$CUT" --alias wippy-nodes "$NET" "$(container "$CUT")"
wait_for 60 "healed: 3 nodes and the client alive, one leader, one owner of every name" healthy n1 n2 n3
for n in n1 n2 n3; do echo "    $n: $(probe "$n")"; done
if [[ $(agreed coordinator n1 n2 n3) == "$MAJPID" && $(agreed partition-claim n1 n2 n3) == "$HOLDPID" ]]; then
  pass "every replica names $MAJPID coordinator and $HOLDPID for partition-claim"
else
  fail "owners after heal: coordinator $(agreed coordinator n1 n2 n3 || true), partition-claim $(agreed partition-claim n1 n2 n3 || true)"
fi
stepped_down() { logged "$CUT" "$T3" 'msg="stepped down"' && logged "$CUT" "$T3" 'msg=standby'; }
wait_for 30 "$CUT's old coordinator got 'name revoked', stepped down and waits as a standby" stepped_down
# Two rounds of the owner span at least one full round cycle (a round,
# then a 2s pause) of any other process that still thought it led.
T4=$(now)
MAJNODE=$(node_of "$MAJPID")
two_rounds() { (($(docker logs --since "$T4" "$(container "$MAJNODE")" 2>&1 | grep -c 'msg="round done"') >= 2)); }
wait_for 30 "the coordinator on $MAJNODE completes two rounds" two_rounds
others=""
for n in n1 n2 n3; do
  if [[ $n != "$MAJNODE" ]] && logged "$n" "$T4" 'msg="round done"'; then others+=" $n"; fi
done
if [[ -z $others ]]; then
  pass "one live coordinator: no other node ran a round meanwhile"
else
  fail "rounds also ran on$others"
fi

log "releasing partition-claim: the client's stdin ends"
exec 3>&-
client_gone() { ! kill -0 "$HOLDER" 2>/dev/null; }
wait_for 30 "the client exits" client_gone
if wait "$HOLDER"; then pass "the client exited with status 0"; else fail "the client exited with status $?"; fi
HOLDER=""
CLIENTS=""
# healthy: every replica has the same owners; agreed fails: none holds it.
released() { healthy n1 n2 n3 && ! agreed partition-claim n1 n2 n3 >/dev/null; }
wait_for 30 "partition-claim released on every replica; 3 alive members" released

# 4. pause a node (SIGSTOP for every process in it) past failure detection
PAUSED=$(printf '%s\n' n1 n2 n3 | grep -vx "$MAJNODE" | head -1)
log "scenario 4: docker pause $PAUSED until the others see it dead"
docker pause "$(container "$PAUSED")" >/dev/null
paused_dead() {
  local n
  for n in n1 n2 n3; do
    [[ $n == "$PAUSED" ]] && continue
    has "$PAUSED" "$(field "$(probe "$n")" dead)" || return 1
  done
}
wait_for 30 "the others see paused $PAUSED dead" paused_dead
T5=$(now)
t5=$(date +%s%N)
docker unpause "$(container "$PAUSED")" >/dev/null
log "unpaused $PAUSED"
rounds_on() { # rounds_on NODE SINCE: rounds done on NODE's coordinator with jobs on $PAUSED
  docker logs --since "$2" "$(container "$1")" 2>&1 | grep 'msg="round done"' | grep -c "jobs_by_node=\"[^\"]*$PAUSED=" || true
}
two_rounds_on_paused() { (($(rounds_on "$MAJNODE" "$T5") >= 2)); }
wait_for 30 "$PAUSED is reachable again: two rounds of the coordinator on $MAJNODE ran jobs on it" two_rounds_on_paused
echo "    $((($(date +%s%N) - t5) / 1000000))ms from unpause to the second round with jobs on $PAUSED"
wait_for 60 "after the pause: 3 alive members, one leader, one owner of every name" healthy n1 n2 n3

# 5. scale: two more nodes of the `node` service, which know no node by
# name: they join through wippy-nodes, the alias every node carries, and
# the Raft cluster the three formed (bootstrap_expect 0).
log "scenario 5: docker-compose --profile scale up --scale node=2"
"${COMPOSE[@]}" --profile scale up -d --scale node=2 node >/dev/null 2>&1
scaled() { # every node sees 5 alive members and the same leader
  local n line leader=""
  for n in n1 n2 n3; do
    line=$(probe "$n")
    [[ $(field "$line" alive | tr ',' '\n' | grep -c .) -eq 5 ]] || return 1
    [[ -n $(field "$line" leader) && (-z $leader || $leader == "$(field "$line" leader)") ]] || return 1
    leader=$(field "$line" leader)
  done
}
wait_for 60 "two scaled nodes joined through one DNS name: 5 alive members, one leader" scaled
echo "    n1: $(probe n1)"
# Each contacted every address the name resolved to: at least n1, n2, n3.
joined=0
for c in $(docker ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=node"); do
  contacted=$(docker logs "$c" 2>&1 | sed -n 's/.*msg="joined cluster" contacted=\([0-9]*\).*/\1/p' | head -1)
  echo "    scaled node $c: contacted ${contacted:-none} on joining wippy-nodes:7946"
  if [[ -n $contacted ]] && ((contacted >= 3)); then joined=$((joined + 1)); fi
done
if ((joined == 2)); then
  pass "both scaled nodes joined every node wippy-nodes resolved to"
else
  fail "$joined of 2 scaled nodes contacted 3 or more nodes on joining"
fi

# 6. teardown
log "scenario 6: docker-compose down -v"
"${COMPOSE[@]}" --profile scale down -v --remove-orphans >/dev/null 2>&1
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
