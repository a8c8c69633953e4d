#!/usr/bin/env bash
# npm run test:compose: docker-compose.yml end to end, on a real Docker. Builds the image (base made offline when
# node:20-bookworm-slim cannot be had), brings the (secure) lab up, checks its security from the host (the host's
# kubeconfig is the admin's over TLS; 401 without credentials or with a bad one; a node's kubectl acts as that
# node), runs the bootcamp core (deploy, NodePort, curl through a node container, scale to 4 across nodes, rolling
# update, undo), then chaos: a node container killed (pods move,
# the Service answers), the apiserver's, scheduler's and controller-manager's processes killed (Docker's restart
# policy brings them back, nothing is lost), and `docker-compose down -v` must leave nothing behind. Then the HA
# override (docker-compose.ha.yml; KUBELAB_COMPOSE_HA=0 skips it): both apiservers in the `kubernetes` Endpoints,
# the leading scheduler, one apiserver and one etcd member killed while the cluster keeps serving, down -v again.
# Then the 0.18 plain-HTTP override (docker-compose.insecure.yml; KUBELAB_COMPOSE_INSECURE=0 skips it): nodes Ready,
# the host's kubectl over http with no credentials, down -v.
#
# Docker: the one at DOCKER_HOST (or the default socket) when it answers; otherwise a dockerd of its own on a
# private socket, stopped by PID at the end, with --iptables=false --ip-masq=false --ip-forward=false --bridge=none
# (it adds no rule to the host's tables, leaves the host's forwarding alone and makes no default bridge). Such a
# Docker still gives containers on an internal network a default route via the bridge, so while the lab runs this
# script adds two FORWARD rules dropping anything routed into or out of the lab's bridge (as `kubelab up` does for
# its own bridge); they go at the end. KUBELAB_COMPOSE_KEEP=1 keeps a failed lab for a look (not with its own dockerd). Everything made is removed on any exit, failure included.
# Prints "SKIP: <reason>" and exits 0 only when Docker cannot be installed or started.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

log() { printf '%s compose-test: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
skip() { echo "SKIP: compose test: $*"; exit 0; }

# ------------------------------------------------------------------------------------------------ docker
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose >/dev/null 2>&1 || true
fi
command -v dockerd >/dev/null 2>&1 || skip "docker.io could not be installed (no dockerd)"
command -v docker-compose >/dev/null 2>&1 || skip "docker-compose could not be installed"
# Debian's 20.10 client, when a newer one without buildx shadows it, builds with the classic builder anyway.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

STATE="$(mktemp -d /tmp/kubelab-compose-test.XXXXXX)"
DOCKERD_PID=""
PROJECT="kltest$$"
BRIDGE="klc$$"
FORWARD_RULES=()
COMPOSE_UP=0

cleanup() {
  local rc=$?
  set +e
  if [ "$rc" != 0 ]; then
    log "FAILED (exit $rc); the lab as it was:"
    [ "$COMPOSE_UP" = 1 ] && { compose ps; compose logs --tail=30 2>&1 | tail -150; kubectl_ get nodes,pods -A -o wide; }
  fi
  if [ "$rc" != 0 ] && [ "${KUBELAB_COMPOSE_KEEP:-}" = 1 ] && [ -z "$DOCKERD_PID" ]; then
    log "KUBELAB_COMPOSE_KEEP=1: the lab stays (docker-compose -p $PROJECT down -v; iptables -D FORWARD ${FORWARD_RULES[*]})"
    exit "$rc"
  fi
  if [ "$COMPOSE_UP" = 1 ]; then compose --profile dashboards down -v --remove-orphans --timeout 5 >/dev/null 2>&1; fi
  for rule in "${FORWARD_RULES[@]}"; do
    # shellcheck disable=SC2086
    iptables -w -D FORWARD $rule 2>/dev/null
  done
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$DOCKERD_PID" 2>/dev/null
  fi
  # What dockerd mounted under its exec root (netns/default), innermost first; nothing else is mounted there.
  findmnt -rn -o TARGET | grep "^$STATE/" | sort -r | while read -r mount; do umount "$mount"; done
  rm -rf "$STATE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! docker info >/dev/null 2>&1; then
  export DOCKER_HOST="unix://$STATE/docker.sock"
  # The data root is kept between runs: the base image and the build cache live there (warm builds).
  DATA_ROOT="${KUBELAB_DOCKER_DATA_ROOT:-/var/lib/kubelab-docker}"
  mkdir -p "$DATA_ROOT"
  dockerd --host "$DOCKER_HOST" --data-root "$DATA_ROOT" --exec-root "$STATE/exec" --pidfile "$STATE/dockerd.pid" \
    --iptables=false --ip-masq=false --ip-forward=false --bridge=none >"$STATE/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && break; kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
  if ! docker info >/dev/null 2>&1; then
    tail -5 "$STATE/dockerd.log"
    skip "dockerd does not start here (log above)"
  fi
  OWN_DOCKERD=1
  log "started dockerd (pid $DOCKERD_PID, data root $DATA_ROOT, no iptables/masquerade/forwarding/default bridge)"
else
  OWN_DOCKERD=0
  log "using the running Docker ($(docker version --format '{{.Server.Version}}'))"
fi

# ------------------------------------------------------------------------------------------------ image
BASE_IMAGE="${BASE_IMAGE:-node:20-bookworm-slim}"
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && ! docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  BASE_IMAGE="kubelab-base:bookworm"
  started="$(now)"
  bash test/compose/base-image.sh "$BASE_IMAGE"
  log "base image $BASE_IMAGE ready (offline: debootstrap + this machine's node) in $(since "$started") s"
fi
export KUBELAB_IMAGE="kubelab:test"
started="$(now)"
# --network host: a Docker without a default bridge has no other network for build steps (apt, npm).
docker build -q --force-rm --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$KUBELAB_IMAGE" . >/dev/null
# The previous build's image, untagged now, goes (its layers stay cached in the ones still in use).
[ "$OWN_DOCKERD" = 0 ] || docker image prune -f >/dev/null
log "image $KUBELAB_IMAGE built in $(since "$started") s, $(docker image inspect -f '{{.Size}}' "$KUBELAB_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"

# ------------------------------------------------------------------------------------------------ lab
# An address block, bridge name and host port of its own, so it runs beside any other lab on this machine.
for second in $(seq 31 -1 16); do
  ip route | grep -q "^172\.$second\." || { export KUBELAB_NET="172.$second"; break; }
done
export KUBELAB_BRIDGE="$BRIDGE" COMPOSE_PROJECT_NAME="$PROJECT"
KUBELAB_APISERVER_PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
KUBELAB_UI_PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export KUBELAB_APISERVER_PORT KUBELAB_UI_PORT KUBELAB_KUBECONFIG_DIR="$STATE/kubeconfig-dir"
mkdir -p "$KUBELAB_KUBECONFIG_DIR"
KUBECONFIG_FILE="$KUBELAB_KUBECONFIG_DIR/kubeconfig"
COMPOSE_FILES=(-f "$ROOT/docker-compose.yml")
compose() { docker-compose "${COMPOSE_FILES[@]}" -p "$PROJECT" "$@"; }
kubectl_() { kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s "$@"; }
# waits up to $1 seconds for the command after it to succeed
wait_for() {
  local limit="$1"; shift
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "timed out after ${limit}s waiting for: $*"; return 1; }
    sleep 1
  done
}

# (Always: with a Docker that programs iptables itself they change nothing, since it isolates internal networks too.)
if true; then
  for rule in "-i $BRIDGE ! -o $BRIDGE -m comment --comment kubelab-compose-test -j DROP" \
              "-o $BRIDGE ! -i $BRIDGE -m comment --comment kubelab-compose-test -j DROP"; do
    # shellcheck disable=SC2086
    iptables -w -I FORWARD 1 $rule
    FORWARD_RULES+=("$rule")
  done
fi

# docker-compose up -d, failing on any service that could not be created or started (an address taken twice, ...).
up_all() {
  compose up -d --no-build >"$STATE/up.log" 2>&1 || true
  grep -v -E '^(Creating|Starting)' "$STATE/up.log" || true
  ! grep -q -E '^ERROR' "$STATE/up.log" || { log "docker-compose up failed"; return 1; }
}

COMPOSE_UP=1
started="$(now)"
up_all
nodes_ready() { [ "$(kubectl_ get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" -ge "$1" ]; }
wait_for 240 nodes_ready 3
UP_SECONDS="$(since "$started")"
log "docker-compose up -d -> 3 nodes Ready in $UP_SECONDS s"
kubectl_ get nodes -o wide

# Nothing of the cluster has a way out: no rule of Docker's on the host, and the host drops what is routed off it.
if [ "$OWN_DOCKERD" = 1 ]; then
  ! iptables-save | grep -q -i docker || { log "dockerd added iptables rules to the host"; exit 1; }
fi
# ------------------------------------------------------------------------------------------------ security
# The host's kubeconfig: the admin's certificate over TLS to the published port, readable by its owner only.
grep -q "server: https://127.0.0.1:$KUBELAB_APISERVER_PORT" "$KUBECONFIG_FILE"
[ "$(stat -c %a "$KUBECONFIG_FILE")" = 600 ] || { log "the host's kubeconfig is mode $(stat -c %a "$KUBECONFIG_FILE")"; exit 1; }
[ "$(kubectl_ auth whoami -o jsonpath='{.status.userInfo.username}')" = kubernetes-admin ]
kubectl_ config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$STATE/ca.crt"
# Without credentials a request is anonymous only on /healthz, /livez, /readyz and /version (the apiserver's
# --authentication-config, Kubernetes 1.32's anonymous conditions) and 401 elsewhere; a credential that does not check
# out is 401 too.
status_of() { curl -sS -o "$STATE/body" -w '%{http_code}' --max-time 5 --cacert "$STATE/ca.crt" "$@"; }
for path in /api/v1/namespaces/kube-system/secrets /apis/apps/v1/deployments /metrics /api; do
  code="$(status_of "https://127.0.0.1:$KUBELAB_APISERVER_PORT$path")"
  [ "$code" = 401 ] && grep -q '"reason":"Unauthorized"' "$STATE/body" || { log "GET $path without credentials: $code $(cat "$STATE/body")"; exit 1; }
  code="$(status_of -H 'Authorization: Bearer kubelab-not-a-token' "https://127.0.0.1:$KUBELAB_APISERVER_PORT$path")"
  [ "$code" = 401 ] || { log "GET $path with a bad token: $code, not 401"; exit 1; }
done
[ "$(status_of "https://127.0.0.1:$KUBELAB_APISERVER_PORT/readyz")" = 200 ]
! curl -sS -o /dev/null --max-time 5 "http://127.0.0.1:$KUBELAB_APISERVER_PORT/api" 2>/dev/null || { log "the published port answers plain HTTP"; exit 1; }
log "the published port: TLS verified with the cluster CA; without credentials 401 (/readyz 200), a bad token 401; the host's kubectl is kubernetes-admin"
# kubectl in a node container acts as that node (system:node:node-1): it reads nodes, but no Secret it has no pod for.
compose exec -T node-1 kubectl get nodes >/dev/null
if compose exec -T node-1 kubectl get secrets -A >"$STATE/node-secrets" 2>&1; then log "node-1 lists every Secret"; exit 1; fi
grep -q 'system:node:node-1.*cannot list resource "secrets"' "$STATE/node-secrets" || { cat "$STATE/node-secrets"; exit 1; }
log "node-1's kubectl acts as system:node:node-1: it lists Nodes, and is forbidden to list Secrets"

compose exec -T node-1 kubelab status | tee "$STATE/status"
[ "$(grep -c -E '^(container-runtime|kubelet|kube-proxy) ' "$STATE/status")" = 3 ]

memory() { docker stats --no-stream --format '{{.MemUsage}}' $(compose ps -q) | awk '{ v=$1; if (v ~ /GiB/) { sub(/GiB/,"",v); v*=1024 } else sub(/MiB/,"",v); s+=v } END { printf "%.0f MiB", s }'; }
log "memory of all containers, idle (kube-dns running): $(memory)"

# ------------------------------------------------------------------------------------------------ bootcamp core
kubectl_ create deployment kubernetes-bootcamp --image=jocatalin/kubernetes-bootcamp:v1
kubectl_ expose deployment/kubernetes-bootcamp --type=NodePort --port=8080
kubectl_ rollout status deployment/kubernetes-bootcamp --timeout=120s
NODE_PORT="$(kubectl_ get service kubernetes-bootcamp -o jsonpath='{.spec.ports[0].nodePort}')"
# (busybox 1.35's wget -T crashes: timeout(1) bounds it instead)
answer() { compose exec -T "$1" timeout 5 busybox wget -qO- "http://$KUBELAB_NET.0.$2:$NODE_PORT"; }
wait_for 30 answer node-1 12
answer node-1 12 | grep -q "Hello Kubernetes bootcamp"
log "NodePort $NODE_PORT answers through node-1 -> node-2: $(answer node-1 12)"

kubectl_ scale deployment/kubernetes-bootcamp --replicas=4
kubectl_ rollout status deployment/kubernetes-bootcamp --timeout=120s
spread="$(kubectl_ get pods -l app=kubernetes-bootcamp -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | wc -l)"
[ "$spread" -ge 2 ] || { log "4 replicas on $spread node(s)"; exit 1; }
log "4 replicas on $spread nodes"

kubectl_ set image deployment/kubernetes-bootcamp kubernetes-bootcamp=jocatalin/kubernetes-bootcamp:v2
kubectl_ rollout status deployment/kubernetes-bootcamp --timeout=120s
answers_v2() { answer node-3 11 | grep -q 'v=2'; }
wait_for 30 answers_v2
kubectl_ rollout undo deployment/kubernetes-bootcamp
kubectl_ rollout status deployment/kubernetes-bootcamp --timeout=120s
log "rolled to v2 and back"

# ------------------------------------------------------------------------------------------------ observability
# kube-state-metrics reports the Deployment; the live view serves its page on the host's loopback and sees the
# cluster; Prometheus (from Debian's package: prom/prometheus cannot be pulled here) scrapes every component.
http_get() { node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()); }, () => process.exit(1))' "$1"; }
ksm_reports() { compose exec -T node-1 timeout 5 busybox wget -qO- "http://$KUBELAB_NET.0.8:8080/metrics" | grep -c -E '^kube_deployment_status_replicas_available\{[^}]*deployment="kubernetes-bootcamp"[^}]*\} 4$'; }
wait_for 60 ksm_reports
log "kube-state-metrics: kube_deployment_status_replicas_available of kubernetes-bootcamp is 4"
wait_for 60 http_get "http://127.0.0.1:$KUBELAB_UI_PORT/readyz"
page="$(http_get "http://127.0.0.1:$KUBELAB_UI_PORT/")"
grep -q '<title>kubelab live view</title>' <<<"$page"
log "live view on 127.0.0.1:$KUBELAB_UI_PORT: ready"
if [ "${KUBELAB_COMPOSE_PROMETHEUS:-1}" = 1 ]; then
  started="$(now)"
  export PROMETHEUS_IMAGE="kubelab-prometheus:test"
  docker build -q --force-rm --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$PROMETHEUS_IMAGE" dashboards/prometheus >/dev/null
  compose --profile dashboards up -d --no-build prometheus 2>&1 | grep -v -E '^(Creating|Starting)' || true
  # Every job of dashboards/prometheus/prometheus.yml but kube-dns (pods' addresses are not on the node network).
  targets_up() {
    http_get "http://$KUBELAB_NET.0.6:9090/api/v1/targets" | node -e '
      let text = ""; process.stdin.on("data", (d) => (text += d)).on("end", () => {
        const active = JSON.parse(text).data.activeTargets;
        const jobs = ["prometheus", "etcd", "apiserver", "scheduler", "controller-manager", "kube-state-metrics", "kube-state-metrics-telemetry", "kubelet", "cadvisor", "kube-proxy", "container-runtime"];
        const down = active.filter((t) => t.health !== "up").map((t) => `${t.labels.job} ${t.scrapeUrl} ${t.lastError}`);
        const missing = jobs.filter((job) => !active.some((t) => t.labels.job === job));
        if (down.length > 0 || missing.length > 0) { console.error([...down, ...missing.map((j) => `${j}: no target`)].join("\n")); process.exit(1); }
      });'
  }
  wait_for 90 targets_up || { targets_up; exit 1; }
  compose --profile dashboards rm -sfv prometheus >/dev/null 2>&1
  log "Prometheus ($(docker run --rm --network none --entrypoint /usr/bin/prometheus "$PROMETHEUS_IMAGE" --version 2>&1 | head -1 | cut -d' ' -f1-3)) scrapes every component: all targets up, $(since "$started") s"
else
  echo "SKIP: the dashboards profile's Prometheus (KUBELAB_COMPOSE_PROMETHEUS=0)"
fi
echo "SKIP: Grafana in the dashboards profile: its image cannot be pulled here and Debian has no grafana package (test/dashboards and test/e2e/metrics.int.test.ts check the dashboards against a real Prometheus)"

started="$(now)"
for i in $(seq 1 26); do printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: idle-%s, labels: {app: idle}}\nspec: {containers: [{name: c, image: busybox, command: [sleep, "3600"]}]}\n---\n' "$i"; done | kubectl_ apply -f - >/dev/null
idle_running() { [ "$(kubectl_ get pods -l app=idle --field-selector=status.phase=Running -o name | wc -l)" -eq 26 ]; }
wait_for 180 idle_running
log "30 pods running ($(since "$started") s for 26 more); memory of all containers: $(memory)"
kubectl_ delete pods -l app=idle --wait=false >/dev/null

# ------------------------------------------------------------------------------------------------ chaos
# A node container dies: after the lease grace period the node is NotReady and its pods are replaced elsewhere.
victim="$(kubectl_ get pods -l app=kubernetes-bootcamp -o jsonpath='{.items[0].spec.nodeName}')"
[ "$victim" != node-1 ] || victim=node-2
started="$(now)"
compose kill "$victim" >/dev/null 2>&1
moved() { [ "$(kubectl_ get pods -l app=kubernetes-bootcamp --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -v -c "^$victim\$")" -ge 4 ]; }
wait_for 90 moved
log "killed $victim: its pods were replaced on the other nodes in $(since "$started") s"
# The Service still answers: through a live node, at another live node's NodePort.
via=node-1; at=13
[ "$victim" = node-1 ] && via=node-2
[ "$victim" = node-3 ] && at=12
wait_for 30 answer "$via" "$at"
compose start "$victim" >/dev/null 2>&1
started="$(now)"
wait_for 120 nodes_ready 3
log "$victim started again and Ready in $(since "$started") s"

# The apiserver's process dies (the container exits on its own, so Docker restarts it): nothing is lost.
kill_main() { kill -9 "$(docker inspect -f '{{.State.Pid}}' "$(compose ps -q "$1")")"; }
before="$(kubectl_ get deployment kubernetes-bootcamp -o jsonpath='{.metadata.uid} {.spec.replicas}')"
started="$(now)"
kill_main apiserver
wait_for 60 kubectl_ get --raw /readyz
[ "$(kubectl_ get deployment kubernetes-bootcamp -o jsonpath='{.metadata.uid} {.spec.replicas}')" = "$before" ]
log "apiserver killed: back (restart policy) in $(since "$started") s, the Deployment unchanged ($before)"

# The scheduler and the controller-manager die together; once back, a scale-up is scheduled and reconciled.
started="$(now)"
kill_main scheduler
kill_main controller-manager
kubectl_ scale deployment/kubernetes-bootcamp --replicas=5
kubectl_ rollout status deployment/kubernetes-bootcamp --timeout=120s
log "scheduler and controller-manager killed: scaled to 5 after their restart in $(since "$started") s"
restarts="$(docker inspect -f '{{.Name}} {{.RestartCount}}' $(compose ps -q apiserver scheduler controller-manager))"
log "restart counts: $(echo "$restarts" | tr '\n' ' ')"

# ------------------------------------------------------------------------------------------------ down
down_leaves_nothing() {
started="$(now)"
compose --profile dashboards down -v --remove-orphans --timeout 5 >/dev/null 2>&1
COMPOSE_UP=0
log "docker-compose down -v in $(since "$started") s"
left="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"; docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"; docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"; [ "$OWN_DOCKERD" = 0 ] || docker volume ls -qf dangling=true)"
[ -z "$left" ] || { log "left behind: $left"; exit 1; }
! ip link show "$BRIDGE" >/dev/null 2>&1 || { log "bridge $BRIDGE left behind"; exit 1; }
}
down_leaves_nothing

# ------------------------------------------------------------------------------------------------ HA
# docker-compose.ha.yml: 3 etcd members, 2 apiservers behind haproxy, 2 schedulers and controller-managers.
if [ "${KUBELAB_COMPOSE_HA:-1}" = 1 ]; then
  COMPOSE_FILES+=(-f "$ROOT/docker-compose.ha.yml")
  COMPOSE_UP=1
  started="$(now)"
  up_all
  wait_for 240 nodes_ready 3
  log "HA: up -> 3 nodes Ready in $(since "$started") s"
  apiserver_count() { [ "$(kubectl_ get endpoints kubernetes -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)" -eq "$1" ]; }
  wait_for 60 apiserver_count 2
  log "HA: the kubernetes Endpoints list both apiservers: $(kubectl_ get endpoints kubernetes -o jsonpath='{.subsets[0].addresses[*].ip}')"
  kubectl_ create deployment ha-web --image=nginx --replicas=2
  kubectl_ rollout status deployment/ha-web --timeout=120s

  # The leading scheduler dies: the standby takes the Lease and schedules.
  holder() { kubectl_ get lease -n kube-system "$1" -o jsonpath='{.spec.holderIdentity}'; }
  leader="$(holder kube-scheduler)"
  started="$(now)"
  docker kill "${leader%%_*}" >/dev/null
  new_leader() { [ -n "$(holder kube-scheduler)" ] && [ "$(holder kube-scheduler)" != "$leader" ]; }
  wait_for 60 new_leader
  kubectl_ scale deployment/ha-web --replicas=3
  kubectl_ rollout status deployment/ha-web --timeout=120s
  log "HA: leading scheduler ${leader%%_*} killed: $(holder kube-scheduler | cut -d_ -f1) leads and scheduled in $(since "$started") s"

  # One apiserver dies: the load balancer sends everyone to the other; the Endpoints drop it when its lease expires.
  started="$(now)"
  compose kill apiserver >/dev/null 2>&1
  kubectl_ scale deployment/ha-web --replicas=4
  kubectl_ rollout status deployment/ha-web --timeout=120s
  log "HA: apiserver killed: the cluster kept serving (scaled to 4 in $(since "$started") s)"
  wait_for 60 apiserver_count 1
  log "HA: the dead apiserver left the kubernetes Endpoints $(since "$started") s after it died"

  # One etcd member dies: two of three keep the quorum. (A request the apiserver's etcd client sends to the dead
  # member first is answered 503; the client's next request goes to a live one, so writes are retried here.)
  started="$(now)"
  compose kill etcd-3 >/dev/null 2>&1
  wait_for 30 kubectl_ create configmap after-etcd-3 --from-literal=k=v
  wait_for 30 kubectl_ scale deployment/ha-web --replicas=5
  # (rollout status' reads meet the same 503 once, so it is retried too)
  wait_for 120 kubectl_ rollout status deployment/ha-web --timeout=30s
  log "HA: etcd-3 killed: writes and scheduling go on (scaled to 5 in $(since "$started") s)"
  down_leaves_nothing
fi

# ------------------------------------------------------------------------------------------------ insecure
# docker-compose.insecure.yml: the 0.18 cluster, plain HTTP with no authentication on the published port.
if [ "${KUBELAB_COMPOSE_INSECURE:-1}" = 1 ]; then
  COMPOSE_FILES=(-f "$ROOT/docker-compose.yml" -f "$ROOT/docker-compose.insecure.yml")
  COMPOSE_UP=1
  started="$(now)"
  up_all
  wait_for 240 nodes_ready 3
  log "insecure: up -> 3 nodes Ready in $(since "$started") s"
  grep -q "server: http://127.0.0.1:$KUBELAB_APISERVER_PORT" "$KUBECONFIG_FILE"
  curl -sSf --max-time 5 "http://127.0.0.1:$KUBELAB_APISERVER_PORT/api/v1/namespaces/kube-system/pods" >/dev/null
  kubectl_ run insecure-pod --image=busybox --restart=Never -- sleep 600 >/dev/null
  wait_for 90 kubectl_ wait --for=condition=Ready pod/insecure-pod --timeout=5s
  log "insecure: the host's kubectl and curl over plain HTTP without credentials; a pod Running"
  down_leaves_nothing
fi
log "PASS"
