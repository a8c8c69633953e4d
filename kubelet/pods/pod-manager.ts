// The pods bound to this node and one worker per pod (Kubernetes' podWorkers + SyncPod/SyncTerminatingPod):
// serialized per pod and level-triggered. Each sync reads the pod's runtime state by its uid label, decides with
// computePodActions, acts (sandbox, image, init containers, containers, kills), generates the status and writes it
// when it changed. Workers wake on pod changes (informer), runtime changes (PLEG), probe result changes and their
// own timers (backoffs, periodic resync). A pod being deleted is stopped gracefully (preStop, grace period) and
// then deleted for good; pods the runtime holds that the API no longer has are removed.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlreadyExists, isNotFound } from "../../api/errors.js";
import { qosClassOf } from "../../api/defaults.js";
import { deepEqual } from "../../api/normalize.js";
import { RESOURCES } from "../../api/resources.js";
import { formatTime, parseTime } from "../../api/time.js";
import type { Container, LifecycleHandler, Node, Pod, PodStatus } from "../../api/types/index.js";
import { isNotFound as isCriNotFound } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import type { EventRecorder, ObjectReference } from "../../client/event-recorder.js";
import type { RestClient } from "../../client/rest.js";
import type { Clock, Timer } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import type { Registry } from "../../component-base/metrics.js";
import { gauge, histogram } from "../../component-base/metrics.js";
import { ContainerConfigError, makeEnvironment, type EnvSources } from "../container-env/env.js";
import { hostsFileContent, podDnsConfig, type ClusterDns } from "../container-env/dns.js";
import type { ProbedContainer, ProberManager } from "../prober/prober-manager.js";
import { CONTAINER_TERMINATION_MESSAGE_POLICY_ANNOTATION, POD_UID_LABEL } from "../runtime-labels.js";
import { VolumeSetupError, type VolumeManager } from "../volumes/volume-manager.js";
import { computePodActions } from "./actions.js";
import { admitPod } from "./admission.js";
import { CONTAINER_BACKOFF, formatBackoff, KeyedBackoff } from "./backoff.js";
import { containerConfig, podNamespace, sandboxConfig } from "./container-config.js";
import { ImageManager } from "./images.js";
import { Pleg, type RelistResult } from "./pleg.js";
import type { PodRuntime } from "./runtime.js";
import { containerRecordFrom, latestContainer, sandboxStateFrom, type ContainerRecord, type PodRuntimeState } from "./runtime-state.js";
import { generatePodStatus, type WaitingReason } from "./status.js";
import { StatusManager } from "./status-manager.js";
import { CONFIG_MIRROR_ANNOTATION, isStaticPod, mirrorOf } from "./static-pods.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
/** Kubernetes' minimum grace period for a container stop (minimumGracePeriodInSeconds). */
const MIN_GRACE_SECONDS = 2;
const MAX_TERMINATION_MESSAGE_BYTES = 4096;
const FALLBACK_LOG_LINES = 80;
/** How long a postStart hook may run before it counts as failed. */
const POST_START_TIMEOUT_SECONDS = 30;
const DEADLINE_EXCEEDED_MESSAGE = "Pod was active on the node longer than the specified deadline";

export interface PodManagerOptions {
  runtime: PodRuntime;
  client: Pick<RestClient, "updateStatus" | "get" | "delete" | "create">;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  nodeName: string;
  /** This node's Node object as last seen (undefined until registered): pods are admitted against it. */
  node: () => Readonly<Node> | undefined;
  nodeIP: string;
  /** The machine's hostname: a host-network pod's. */
  nodeHostname: string;
  rootDir: string;
  /**
   * Create the sandbox's log directory and each container's termination-log file under rootDir (default true).
   * false is for hollow nodes, whose containers write nothing: the termination-log mount still names its path.
   */
  writeToDisk?: boolean;
  cgroupRoot: string;
  clusterDns: ClusterDns;
  envSources: EnvSources;
  volumes: VolumeManager;
  prober: ProberManager;
  /** Node memory in bytes, for Burstable containers' oom_score_adj. */
  memoryCapacity: number;
  /** PLEG relist period (default 1 s). */
  relistPeriodMs?: number;
  /** Every pod is synced at least this often (default 60 s, Kubernetes' --sync-frequency). */
  resyncPeriodMs?: number;
  /**
   * The pod as this kubelet acts on it, given the pod from the API (default: as it is). Hollow nodes add a readiness
   * probe to the pods their steering annotation marks unready; nothing of it is written back.
   */
  localPodView?: (pod: Readonly<Pod>) => Readonly<Pod>;
}

interface Worker {
  uid: string;
  running: boolean;
  pending: boolean;
  timer: Timer | undefined;
  dueMs: number;
  /** Why containers wait, from the last sync (reasonCache). */
  waiting: Map<string, WaitingReason>;
  firstSeenMs: number;
  startRecorded: boolean;
  /** The last pod seen, kept after it leaves the API so its containers can still be stopped with its grace period. */
  lastPod: Readonly<Pod> | undefined;
  /** The final delete was sent. */
  deleted: boolean;
  /** The admission decision, made once at the pod's first sync (undefined until then). */
  admission: "admitted" | Rejection | undefined;
}

/** Why the kubelet refused to run a pod (Kubernetes' rejectPod): the pod's status reason and message. */
interface Rejection {
  reason: string;
  message: string;
}

/** The pod conditions the kubelet owns (kubetypes.PodConditionsByKubelet): its status replaces them. */
const KUBELET_CONDITIONS = new Set(["PodScheduled", "Ready", "Initialized", "ContainersReady"]);
/** How long a pod waits for its admission when the Node object is not known yet. */
const ADMISSION_RETRY_MS = 1000;

export class PodManager {
  private readonly pods = new Map<string, Readonly<Pod>>();
  /** The mirror pods of static pods in the API, by the static pod's uid. */
  private readonly mirrors = new Map<string, Readonly<Pod>>();
  private readonly workers = new Map<string, Worker>();
  private readonly statuses: StatusManager;
  private readonly images: ImageManager;
  private readonly crashBackoff = new KeyedBackoff(CONTAINER_BACKOFF);
  /** Exited containers never change: their records (with the termination message) are read once. */
  private readonly exitedRecords = new Map<string, ContainerRecord>();
  private readonly sandboxIps = new Map<string, { ip: string; additionalIps: string[] }>();
  private readonly pleg: Pleg;
  private runtimeName = "kubelab";
  private synced = false;
  private stopped = false;
  private readonly metrics: ReturnType<typeof podMetrics>;

  constructor(private readonly opts: PodManagerOptions) {
    this.statuses = new StatusManager({ client: opts.client, logger: opts.logger });
    this.images = new ImageManager({ runtime: opts.runtime, recorder: opts.recorder, clock: opts.clock });
    this.metrics = podMetrics(opts.registry);
    this.pleg = new Pleg({
      runtime: opts.runtime,
      clock: opts.clock,
      logger: opts.logger,
      periodMs: opts.relistPeriodMs ?? 1000,
      onPodChanged: (uid) => {
        this.wake(uid);
      },
      onRelist: (result) => {
        this.onRelist(result);
      },
      onRelistTimed: (seconds, interval) => {
        this.metrics.plegRelistDuration.observe(seconds);
        if (interval !== undefined) this.metrics.plegRelistInterval.observe(interval);
      },
    });
  }

  /** The pods bound to this node as the kubelet knows them (static pods with their mirror's status). */
  list(): Readonly<Pod>[] {
    return [...this.pods.values()].map((p) => this.view(p));
  }

  /** A pod with the status the API holds for it: a static pod's is its mirror's. */
  private view(pod: Readonly<Pod>): Readonly<Pod> {
    if (!isStaticPod(pod)) return pod;
    const status = this.mirrors.get(pod.metadata.uid ?? "")?.status;
    return status ? { ...pod, status } : pod;
  }

  /** From the static pod source: every static pod the manifests describe now. */
  setStaticPods(pods: readonly Pod[]): void {
    const next = new Map(pods.map((p) => [p.metadata.uid ?? "", p]));
    for (const [uid, pod] of next) {
      if (this.pods.has(uid)) continue;
      this.pods.set(uid, pod);
      this.wake(uid);
    }
    for (const [uid, pod] of [...this.pods]) {
      if (!isStaticPod(pod) || next.has(uid)) continue;
      this.pods.delete(uid);
      this.worker(uid).lastPod = pod;
      this.wake(uid);
    }
  }

  healthy(): boolean {
    return this.pleg.healthy();
  }

  /** From the pod informer: a pod bound to this node was added or changed. */
  upsert(pod: Readonly<Pod>): void {
    const uid = pod.metadata.uid ?? "";
    if (uid === "") return;
    const staticUid = mirrorOf(pod);
    if (staticUid !== undefined) {
      const old = this.mirrors.get(staticUid);
      if (old?.metadata.uid === uid && !newerOrSame(pod, old)) return;
      this.mirrors.set(staticUid, pod);
      if (old?.metadata.uid !== uid || old.metadata.deletionTimestamp !== pod.metadata.deletionTimestamp) this.wake(staticUid);
      return;
    }
    const old = this.pods.get(uid);
    if (old && !newerOrSame(pod, old)) return;
    this.pods.set(uid, pod);
    if (!old || relevantChange(old, pod, this.statuses.ownPhase(uid))) this.wake(uid);
  }

  /** From the pod informer: the pod left the API (deleted, or no longer bound here). */
  remove(pod: Readonly<Pod>): void {
    const uid = pod.metadata.uid ?? "";
    const staticUid = mirrorOf(pod);
    if (staticUid !== undefined) {
      // A deleted mirror pod is made again; the static pod keeps running.
      if (this.mirrors.get(staticUid)?.metadata.uid === uid) this.mirrors.delete(staticUid);
      this.wake(staticUid);
      return;
    }
    const known = this.pods.get(uid) ?? pod;
    this.pods.delete(uid);
    const worker = this.worker(uid);
    worker.lastPod = known;
    this.wake(uid);
  }

  /** Runs the PLEG until `signal` aborts; call once the pod informer has synced (so no pod is taken for an orphan). */
  async run(signal: AbortSignal): Promise<void> {
    this.runtimeName = (await this.opts.runtime.version().catch(() => undefined))?.runtimeName ?? this.runtimeName;
    this.synced = true;
    for (const w of [...this.workers.values()]) if (w.pending && !w.running) this.wake(w.uid);
    await this.pleg.run(signal);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.workers.values()) w.timer?.cancel();
  }

  /** Resolves once no worker is syncing (tests and shutdown). */
  async idle(): Promise<void> {
    while ([...this.workers.values()].some((w) => w.running)) await new Promise((r) => setTimeout(r, 10));
  }

  /** Schedules a sync of the pod: now, or after `delayMs` (an earlier request wins). */
  wake(uid: string, delayMs = 0): void {
    if (this.stopped) return;
    const w = this.worker(uid);
    if (delayMs > 0) {
      const due = this.opts.clock.now() + delayMs;
      if (w.timer && w.dueMs <= due) return;
      w.timer?.cancel();
      w.dueMs = due;
      w.timer = this.opts.clock.setTimeout(() => {
        w.timer = undefined;
        this.wake(uid);
      }, delayMs);
      return;
    }
    // Until run() (informers synced, the runtime's name known) the worker only remembers that it has work.
    if (w.running || !this.synced) {
      w.pending = true;
      return;
    }
    void this.runWorker(w);
  }

  private worker(uid: string): Worker {
    let w = this.workers.get(uid);
    if (!w) {
      w = { uid, running: false, pending: false, timer: undefined, dueMs: 0, waiting: new Map(), firstSeenMs: this.opts.clock.now(), startRecorded: false, lastPod: undefined, deleted: false, admission: undefined };
      this.workers.set(uid, w);
    }
    return w;
  }

  private async runWorker(w: Worker): Promise<void> {
    w.running = true;
    try {
      do {
        w.pending = false;
        const started = this.opts.clock.now();
        const operation = w.lastPod === undefined && !w.startRecorded ? "create" : "sync";
        try {
          await this.sync(w);
        } catch (err) {
          this.opts.logger.warn({ podUid: w.uid, err: err instanceof Error ? err.message : String(err) }, "Error syncing pod, will retry");
          this.wake(w.uid, 2000);
        }
        this.metrics.workerDuration.observe({ operation_type: operation }, (this.opts.clock.now() - started) / 1000);
      } while (w.pending && !this.stopped);
    } finally {
      w.running = false;
    }
  }

  private onRelist(result: RelistResult): void {
    this.metrics.runningPods.set(result.runningPods);
    this.metrics.runningContainers.reset();
    for (const [state, n] of result.containersByState) this.metrics.runningContainers.set({ container_state: state }, n);
    if (!this.synced) return;
    // Pods the runtime holds but the API does not: stopped and removed by their workers.
    for (const uid of result.uids) if (!this.pods.has(uid) && !this.workers.get(uid)?.running) this.wake(uid);
    this.crashBackoff.gc(this.opts.clock.now());
  }

  // ---- one sync ----

  private async sync(w: Worker): Promise<void> {
    const known = this.pods.get(w.uid);
    if (!known) {
      await this.removeOrphan(w);
      return;
    }
    // Decided before the first await, so pods are admitted in the order their first syncs start.
    const admission = this.admit(w, this.view(known));
    if (isStaticPod(known)) await this.ensureMirror(known);
    const pod = this.opts.localPodView ? this.opts.localPodView(this.view(known)) : this.view(known);
    w.lastPod = pod;
    const state = await this.readRuntimeState(w.uid);
    if (pod.metadata.deletionTimestamp) {
      await this.terminate(w, pod, state);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") {
      await this.stopAll(pod, state, gracePeriodOf(pod));
      this.opts.prober.removePod(w.uid);
      return;
    }
    if (admission === undefined) {
      this.wake(w.uid, ADMISSION_RETRY_MS);
      return;
    }
    if (admission !== "admitted") {
      await this.writeStatus(pod, rejectedStatus(pod, admission, this.opts.clock.now()));
      return;
    }
    const deadlineInMs = activeDeadlineInMs(pod, this.opts.clock.now());
    if (deadlineInMs !== undefined && deadlineInMs <= 0) {
      await this.failForDeadline(w, pod, state);
      return;
    }
    const retry = await this.syncRunning(w, pod, state);
    const after = await this.readRuntimeState(w.uid);
    // Only a pod whose every sandbox is ready and container running is as this sync left it: a container that exited
    // meanwhile (it may crash right after its start) is news the next relist must still bring to the worker.
    if (after.sandboxes.every((s) => s.ready) && after.containers.every((c) => c.state === "CONTAINER_RUNNING")) this.pleg.observed(after);
    const status = generatePodStatus({ pod, state: after, runtimeName: this.runtimeName, hostIP: this.opts.nodeIP, nowMs: this.opts.clock.now(), waiting: w.waiting, probe: (kind, id) => this.opts.prober.result(kind, id) });
    this.syncProbes(pod, status, after);
    await this.writeStatus(pod, status);
    if (!w.startRecorded && status.phase === "Running" && (status.containerStatuses ?? []).every((c) => c.state?.running)) {
      w.startRecorded = true;
      this.metrics.podStartDuration.observe((this.opts.clock.now() - w.firstSeenMs) / 1000);
    }
    if (status.phase === "Succeeded" || status.phase === "Failed") {
      await this.stopAll(pod, after, gracePeriodOf(pod));
      this.opts.prober.removePod(w.uid);
      return;
    }
    // Dead sandboxes that no longer hold a container (the previous instance kept for logs) are removed.
    for (const s of after.sandboxes.slice(1)) {
      if (!s.ready && !after.containers.some((c) => c.sandboxId === s.id)) {
        await this.opts.runtime.removePodSandbox(s.id).catch(() => undefined);
        this.sandboxIps.delete(s.id);
      }
    }
    // The next sync: a backoff ending, the active deadline (counted from the startTime just reported), or the resync.
    const deadline = activeDeadlineInMs({ ...pod, status }, this.opts.clock.now());
    this.wake(w.uid, Math.max(1, Math.min(retry ?? Infinity, deadline ?? Infinity, this.opts.resyncPeriodMs ?? 60_000)));
  }

  /**
   * The pod's admission, decided at its first sync (pkg/kubelet/lifecycle/predicate.go): checked against the Node and
   * the pods admitted before it that are not in a terminal phase. A rejected pod gets a Warning event now and the
   * Failed status from its sync; it never starts, and is never reconsidered. Undefined while the Node is unknown or
   * has no allocatable yet (a Node object created before this kubelet wrote its status): judged against an empty
   * status, every pod would be OutOfpods.
   * A pod already terminal or being deleted will not start, so it is not checked (nor counted).
   */
  private admit(w: Worker, pod: Readonly<Pod>): Worker["admission"] {
    if (w.admission !== undefined) return w.admission;
    if (pod.metadata.deletionTimestamp || isTerminal(pod)) return "admitted";
    const node = this.opts.node();
    if (!node?.status?.allocatable) return undefined;
    const others: Readonly<Pod>[] = [];
    for (const [uid, other] of this.pods) {
      if (uid === w.uid || this.workers.get(uid)?.admission !== "admitted") continue;
      const viewed = this.view(other);
      if (!isTerminal(viewed)) others.push(viewed);
    }
    const result = admitPod(pod, node, others);
    if (result.admit) {
      w.admission = "admitted";
    } else {
      w.admission = { reason: result.reason, message: result.message };
      this.opts.logger.info({ pod: podName(pod), reason: result.reason, message: result.message }, "Pod rejected at admission");
      this.opts.recorder.event(podRef(pod), "Warning", result.reason, result.message);
    }
    return w.admission;
  }

  /** Brings a live pod's containers to its spec; returns when the pod wants another sync (a backoff ending). */
  private async syncRunning(w: Worker, pod: Readonly<Pod>, state: PodRuntimeState): Promise<number | undefined> {
    const actions = computePodActions(pod, state, (kind, id) => this.opts.prober.result(kind, id));
    let retry: number | undefined;
    const soonest = (ms: number): void => {
      if (ms > 0) retry = retry === undefined ? ms : Math.min(retry, ms);
    };
    const grace = gracePeriodOf(pod);
    await Promise.all(
      actions.containersToKill.map(async (k) => {
        const spec = findContainer(pod, k.name);
        this.opts.recorder.event(containerRef(pod, k.name), "Normal", "Killing", k.message);
        await this.stopContainer(pod, spec, k.id, spec?.livenessProbe?.terminationGracePeriodSeconds ?? grace);
      }),
    );
    if (actions.killPod) {
      if (actions.createSandbox && state.sandboxes.length > 0) this.opts.recorder.event(podRef(pod), "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
      await this.stopAll(pod, state, grace);
      if (!actions.createSandbox) return undefined;
    }
    let sandboxId = actions.sandboxId;
    let sandboxCfg: cri.PodSandboxConfig;
    const dns = podDnsConfig(pod, this.opts.clusterDns);
    // Said once per sandbox, as Kubernetes does when it forms the sandbox's DNS.
    if (actions.createSandbox) for (const w of dns.warnings) this.opts.recorder.event(podRef(pod), "Warning", w.reason, w.message);
    const dnsConfig = dns.config;
    sandboxCfg = sandboxConfig({ pod, attempt: actions.sandboxAttempt, rootDir: this.opts.rootDir, dnsConfig, nodeHostname: this.opts.nodeHostname, cgroupRoot: this.opts.cgroupRoot });
    if (actions.createSandbox) {
      try {
        if (this.opts.writeToDisk !== false) mkdirSync(sandboxCfg.logDirectory, { recursive: true });
        sandboxId = await this.opts.runtime.runPodSandbox(sandboxCfg);
      } catch (err) {
        this.opts.recorder.event(podRef(pod), "Warning", "FailedCreatePodSandBox", `Failed to create pod sandbox: ${errorText(err)}`);
        return 5000;
      }
    } else {
      sandboxCfg = { ...sandboxCfg, metadata: { ...sandboxCfg.metadata, attempt: state.sandboxes[0]?.attempt ?? 0 } };
    }
    if (sandboxId === undefined) return undefined;
    const podIPs = pod.spec?.hostNetwork ? [this.opts.nodeIP] : await this.sandboxIps_(sandboxId);
    try {
      await this.opts.volumes.setUpPod(pod, hostsFileContent(pod, podIPs, this.opts.clusterDns.domain));
    } catch (err) {
      if (!(err instanceof VolumeSetupError)) throw err;
      // One FailedMount event per failed volume when the error names them.
      const failures: unknown = Reflect.get(err, "failures");
      const messages = Array.isArray(failures) && failures.length > 0 ? failures.map((f: unknown) => String(Reflect.get(Object(f) as object, "message"))) : [err.message];
      for (const message of messages) this.opts.recorder.event(podRef(pod), "Warning", "FailedMount", message);
      return 2000;
    }
    const starting = actions.initToStart !== undefined ? [actions.initToStart] : actions.containersToStart;
    for (const name of starting) {
      const spec = findContainer(pod, name);
      if (!spec) continue;
      const result = await this.startContainer(w, pod, spec, sandboxId, sandboxCfg, podIPs, state);
      if (result !== undefined) soonest(result);
    }
    return retry;
  }

  /** Starts one container (pull, create, start); returns a retry delay when it could not. */
  private async startContainer(w: Worker, pod: Readonly<Pod>, c: Readonly<Container>, sandboxId: string, sandboxCfg: cri.PodSandboxConfig, podIPs: readonly string[], state: PodRuntimeState): Promise<number | undefined> {
    const { recorder, runtime, clock } = this.opts;
    const ref = containerRef(pod, c.name);
    const latest = latestContainer(state, c.name);
    const key = `${w.uid}/${c.name}`;
    if (latest?.state === "CONTAINER_EXITED") {
      const now = clock.now();
      if (this.crashBackoff.isInBackOffSince(key, latest.finishedAtMs, now)) {
        const backoff = this.crashBackoff.get(key);
        recorder.event(ref, "Warning", "BackOff", `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name ?? ""}_${podNamespace(pod)}(${w.uid})`);
        w.waiting.set(c.name, { reason: "CrashLoopBackOff", message: `back-off ${formatBackoff(backoff)} restarting failed container=${c.name} pod=${pod.metadata.name ?? ""}_${podNamespace(pod)}(${w.uid})` });
        return this.crashBackoff.remainingMs(key, latest.finishedAtMs, now);
      }
      this.crashBackoff.next(key, now);
    }
    const image = await this.images.ensureImage(pod, c, ref);
    if (!image.ok) {
      w.waiting.set(c.name, image.waiting);
      return image.retryInMs > 0 ? image.retryInMs : undefined;
    }
    const restartCount = latest ? latest.restartCount + 1 : 0;
    let envs: cri.KeyValue[];
    let mounts: cri.Mount[];
    try {
      envs = await makeEnvironment(pod, c, podIPs, {
        ...this.opts.envSources,
        recordWarning: (reason, message) => {
          this.opts.recorder.event(podRef(pod), "Warning", reason, message);
        },
      });
      // A volumeMount's subPath that cannot be provided is a ContainerConfigError too.
      mounts = [...this.opts.volumes.mountsFor(pod, c)];
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      recorder.event(ref, "Warning", "Failed", `Error: ${err.message}`);
      w.waiting.set(c.name, { reason: "CreateContainerConfigError", message: err.message });
      return 5000;
    }
    const terminationLog = this.terminationLogPath(w.uid, c.name, restartCount);
    try {
      if (this.opts.writeToDisk !== false) {
        mkdirSync(join(terminationLog, ".."), { recursive: true });
        writeFileSync(terminationLog, "", { mode: 0o666 });
      }
      mounts.push({ containerPath: c.terminationMessagePath ?? "/dev/termination-log", hostPath: terminationLog, readonly: false, selinuxRelabel: false, propagation: "PROPAGATION_PRIVATE", recursiveReadOnly: false });
    } catch (err) {
      this.opts.logger.warn({ err: errorText(err), path: terminationLog }, "Could not create the termination message file");
    }
    const config = containerConfig({ pod, container: c, restartCount, image: image.image, envs, mounts, qos: pod.status?.qosClass ?? qosClassOf(pod), memoryCapacity: this.opts.memoryCapacity });
    let id: string;
    try {
      id = await runtime.createContainer({ podSandboxId: sandboxId, config, sandboxConfig: sandboxCfg });
    } catch (err) {
      recorder.event(ref, "Warning", "Failed", `Error: ${errorText(err)}`);
      w.waiting.set(c.name, { reason: "CreateContainerError", message: errorText(err) });
      return 5000;
    }
    recorder.event(ref, "Normal", "Created", `Created container: ${c.name}`);
    try {
      await runtime.startContainer(id);
    } catch (err) {
      recorder.event(ref, "Warning", "Failed", `Error: ${errorText(err)}`);
      w.waiting.set(c.name, { reason: "RunContainerError", message: errorText(err) });
      return 5000;
    }
    recorder.event(ref, "Normal", "Started", `Started container ${c.name}`);
    w.waiting.delete(c.name);
    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      try {
        await this.runHook(pod, c, id, postStart, POST_START_TIMEOUT_SECONDS, podIPs[0] ?? "");
      } catch (err) {
        // As Kubernetes: a failed postStart hook kills the container, which restarts per the restart policy.
        recorder.event(ref, "Warning", "FailedPostStartHook", errorText(err));
        await runtime.stopContainer(id, gracePeriodOf(pod)).catch(() => undefined);
        w.waiting.set(c.name, { reason: "PostStartHookError", message: errorText(err) });
      }
    }
    // Only the newest exited instance is kept (kubectl logs --previous); older ones go.
    for (const old of state.containers.filter((r) => r.name === c.name && r.id !== latest?.id && r.state !== "CONTAINER_RUNNING")) {
      await runtime.removeContainer(old.id).catch(() => undefined);
      this.exitedRecords.delete(old.id);
    }
    return undefined;
  }

  private syncProbes(pod: Readonly<Pod>, status: PodStatus, state: PodRuntimeState): void {
    const probed: ProbedContainer[] = [];
    for (const c of pod.spec?.containers ?? []) {
      const r = latestContainer(state, c.name);
      if (r) probed.push({ name: c.name, containerId: r.id, running: r.state === "CONTAINER_RUNNING", startedAtMs: r.startedAtMs });
    }
    this.opts.prober.syncPod(pod, status.podIP ?? "", probed);
  }

  private async writeStatus(pod: Readonly<Pod>, status: PodStatus): Promise<void> {
    if (isStaticPod(pod)) {
      const uid = pod.metadata.uid ?? "";
      const mirror = this.mirrors.get(uid);
      if (!mirror || mirror.metadata.deletionTimestamp) return;
      const stored = await this.statuses.write(mirror, status);
      if (stored && stored.metadata.uid === mirror.metadata.uid && this.mirrors.get(uid) === mirror) this.mirrors.set(uid, stored);
      return;
    }
    const stored = await this.statuses.write(pod, status);
    if (stored && stored.metadata.uid === pod.metadata.uid) {
      const current = this.pods.get(pod.metadata.uid ?? "");
      // The informer's copy of the same version (its watch event often comes first) is kept: it is frozen, so what is
      // derived from its spec (requests, container hashes) is computed once.
      if (current && newerOrSame(stored, current) && stored.metadata.resourceVersion !== current.metadata.resourceVersion) this.pods.set(pod.metadata.uid ?? "", stored);
    }
  }

  /** activeDeadlineSeconds passed: every container stops and the pod fails (DeadlineExceeded). */
  private async failForDeadline(w: Worker, pod: Readonly<Pod>, state: PodRuntimeState): Promise<void> {
    this.opts.recorder.event(podRef(pod), "Normal", "DeadlineExceeded", DEADLINE_EXCEEDED_MESSAGE);
    await this.stopAll(pod, state, gracePeriodOf(pod));
    this.opts.prober.removePod(w.uid);
    const after = await this.readRuntimeState(w.uid);
    const status = generatePodStatus({ pod, state: after, runtimeName: this.runtimeName, hostIP: this.opts.nodeIP, nowMs: this.opts.clock.now(), waiting: new Map(), probe: () => undefined, podIsTerminal: true });
    await this.writeStatus(pod, { ...status, phase: "Failed", reason: "DeadlineExceeded", message: DEADLINE_EXCEEDED_MESSAGE });
  }

  // ---- static pods ----

  /** Keeps a static pod's mirror pod in the API: made when missing, replaced when deleted or stale. */
  private async ensureMirror(pod: Readonly<Pod>): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    const ns = podNamespace(pod);
    const name = pod.metadata.name ?? "";
    const mirror = this.mirrors.get(uid);
    if (mirror && !mirror.metadata.deletionTimestamp) return;
    if (mirror) {
      await this.deleteMirror(mirror);
      this.mirrors.delete(uid);
    }
    const wanted: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, ...(pod.metadata.labels ? { labels: { ...pod.metadata.labels } } : {}), annotations: { ...(pod.metadata.annotations ?? {}), [CONFIG_MIRROR_ANNOTATION]: uid } },
      spec: structuredClone(pod.spec ?? { containers: [] }),
    };
    try {
      this.mirrors.set(uid, await this.opts.client.create<Pod>(PODS, ns, wanted));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await this.opts.client.get<Pod>(PODS, ns, name);
      if (mirrorOf(existing) === uid && !existing.metadata.deletionTimestamp) this.mirrors.set(uid, existing);
      else {
        // Another pod (or the mirror of an older version of the manifest) holds the name: it goes, ours follows.
        if (mirrorOf(existing) !== undefined) await this.deleteMirror(existing);
        this.wake(uid, 1000);
      }
    }
  }

  private async deleteMirror(mirror: Readonly<Pod>): Promise<void> {
    await this.opts.client.delete(PODS, podNamespace(mirror), mirror.metadata.name ?? "", { gracePeriodSeconds: 0, ...(mirror.metadata.uid !== undefined ? { preconditions: { uid: mirror.metadata.uid } } : {}) }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  // ---- termination ----

  /** A pod with a deletionTimestamp: stop it within its grace period, report it, delete it for good, clean up. */
  private async terminate(w: Worker, pod: Readonly<Pod>, state: PodRuntimeState): Promise<void> {
    if (w.deleted) return;
    await this.stopAll(pod, state, gracePeriodOf(pod));
    this.opts.prober.removePod(w.uid);
    const after = await this.readRuntimeState(w.uid);
    const status = generatePodStatus({ pod, state: after, runtimeName: this.runtimeName, hostIP: this.opts.nodeIP, nowMs: this.opts.clock.now(), waiting: new Map(), probe: () => undefined, podIsTerminal: true });
    // A rejected pod keeps the status that says why.
    const rejection = w.admission === "admitted" ? undefined : w.admission;
    const final = rejection ? rejectedStatus(pod, rejection, this.opts.clock.now()) : status;
    await this.writeStatus(pod, final).catch((err: unknown) => {
      this.opts.logger.info({ pod: podName(pod), err: errorText(err) }, "Final status not written");
    });
    try {
      await this.opts.client.delete(PODS, podNamespace(pod), pod.metadata.name ?? "", { gracePeriodSeconds: 0, preconditions: { uid: w.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    w.deleted = true;
    await this.cleanUp(w.uid, after);
  }

  /** The runtime holds a pod the API does not: stop and remove everything it had. */
  private async removeOrphan(w: Worker): Promise<void> {
    const state = await this.readRuntimeState(w.uid);
    if (state.sandboxes.length > 0 || state.containers.length > 0) {
      await this.stopAll(w.lastPod, state, w.lastPod ? gracePeriodOf(w.lastPod) : 30);
      await this.cleanUp(w.uid, state);
    } else {
      await this.opts.volumes.tearDownPod(w.uid).catch(() => undefined);
    }
    const mirror = this.mirrors.get(w.uid);
    if (mirror && w.lastPod && isStaticPod(w.lastPod)) {
      await this.deleteMirror(mirror);
      this.mirrors.delete(w.uid);
    }
    this.opts.prober.removePod(w.uid);
    this.images.forgetPod(w.uid);
    this.crashBackoff.resetPrefix(`${w.uid}/`);
    this.statuses.forget(w.uid);
    w.timer?.cancel();
    this.workers.delete(w.uid);
  }

  private async cleanUp(uid: string, state: PodRuntimeState): Promise<void> {
    for (const c of state.containers) {
      await this.opts.runtime.removeContainer(c.id).catch(() => undefined);
      this.exitedRecords.delete(c.id);
    }
    for (const s of state.sandboxes) {
      await this.opts.runtime.removePodSandbox(s.id).catch(() => undefined);
      this.sandboxIps.delete(s.id);
    }
    await this.opts.volumes.tearDownPod(uid);
  }

  /** Stops every running container (preStop hooks first, within the grace period) and every ready sandbox. */
  private async stopAll(pod: Readonly<Pod> | undefined, state: PodRuntimeState, graceSeconds: number): Promise<void> {
    const running = state.containers.filter((c) => c.state === "CONTAINER_RUNNING" || c.state === "CONTAINER_CREATED");
    await Promise.all(
      running.map(async (c) => {
        if (pod) this.opts.recorder.event(containerRef(pod, c.name), "Normal", "Killing", `Stopping container ${c.name}`);
        await this.stopContainer(pod, pod ? findContainer(pod, c.name) : undefined, c.id, graceSeconds);
      }),
    );
    for (const s of state.sandboxes.filter((s) => s.ready)) {
      await this.opts.runtime.stopPodSandbox(s.id).catch((err: unknown) => {
        if (!isCriNotFound(err)) throw err;
      });
    }
  }

  private async stopContainer(pod: Readonly<Pod> | undefined, spec: Readonly<Container> | undefined, id: string, graceSeconds: number): Promise<void> {
    const started = this.opts.clock.now();
    const preStop = spec?.lifecycle?.preStop;
    if (pod && spec && preStop && graceSeconds > 0) {
      await this.runHook(pod, spec, id, preStop, graceSeconds, pod.status?.podIP ?? "").catch((err: unknown) => {
        this.opts.recorder.event(containerRef(pod, spec.name), "Warning", "FailedPreStopHook", `PreStopHook failed: ${errorText(err)}`);
      });
    }
    const left = graceSeconds - Math.floor((this.opts.clock.now() - started) / 1000);
    const timeout = graceSeconds <= 0 ? 0 : Math.max(MIN_GRACE_SECONDS, left);
    await this.opts.runtime.stopContainer(id, timeout).catch((err: unknown) => {
      if (!isCriNotFound(err)) throw err;
    });
  }

  private async runHook(pod: Readonly<Pod>, c: Readonly<Container>, id: string, hook: LifecycleHandler, timeoutSeconds: number, podIP: string): Promise<void> {
    if (hook.exec?.command) {
      const result = await this.opts.runtime.execSync(id, hook.exec.command, timeoutSeconds);
      if (result.exitCode !== 0) throw new Error(`command '${hook.exec.command.join(" ")}' exited with ${result.exitCode}: ${result.stdout.toString()}${result.stderr.toString()}`);
      return;
    }
    if (hook.httpGet) {
      const host = hook.httpGet.host ?? podIP;
      const port = resolvePort(c, hook.httpGet.port);
      const url = `${(hook.httpGet.scheme ?? "HTTP").toLowerCase()}://${host.includes(":") ? `[${host}]` : host}:${port}${hook.httpGet.path ?? "/"}`;
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
      await res.arrayBuffer();
      if (res.status < 200 || res.status >= 400) throw new Error(`HTTP lifecycle hook (${hook.httpGet.path ?? "/"}) for Container "${c.name}" in Pod "${pod.metadata.name ?? ""}" failed - error: status ${res.status}`);
      return;
    }
    if (hook.sleep) await this.opts.clock.sleep(Math.min(hook.sleep.seconds, timeoutSeconds) * 1000);
  }

  // ---- reading the runtime ----

  private async sandboxIps_(sandboxId: string): Promise<string[]> {
    let ips = this.sandboxIps.get(sandboxId);
    if (!ips) {
      const status = (await this.opts.runtime.podSandboxStatus(sandboxId)).status;
      ips = { ip: status.network?.ip ?? "", additionalIps: status.network?.additionalIps ?? [] };
      if (ips.ip !== "") this.sandboxIps.set(sandboxId, ips);
    }
    return ips.ip === "" ? [] : [ips.ip, ...ips.additionalIps];
  }

  async readRuntimeState(uid: string): Promise<PodRuntimeState> {
    const { runtime } = this.opts;
    const selector = { [POD_UID_LABEL]: uid };
    const [sandboxes, containers] = await Promise.all([runtime.listPodSandbox({ labelSelector: selector }), runtime.listContainers({ labelSelector: selector })]);
    const state: PodRuntimeState = { uid, sandboxes: [], containers: [] };
    for (const s of sandboxes) {
      let ips = this.sandboxIps.get(s.id);
      if (!ips && s.state === "SANDBOX_READY") {
        const status = await runtime.podSandboxStatus(s.id).catch(() => undefined);
        if (status) {
          const parsed = sandboxStateFrom(status.status);
          ips = { ip: parsed.ip, additionalIps: parsed.additionalIps };
          if (ips.ip !== "") this.sandboxIps.set(s.id, ips);
        }
      }
      state.sandboxes.push({ id: s.id, attempt: s.metadata.attempt, ready: s.state === "SANDBOX_READY", createdAtMs: Number(s.createdAt / 1_000_000n), ip: ips?.ip ?? "", additionalIps: ips?.additionalIps ?? [] });
    }
    for (const c of containers) {
      const cached = this.exitedRecords.get(c.id);
      if (cached) {
        state.containers.push(cached);
        continue;
      }
      const status = await runtime.containerStatus(c.id).catch((err: unknown) => {
        if (isCriNotFound(err)) return undefined;
        throw err;
      });
      if (!status) continue;
      const record = containerRecordFrom(status.status, c.podSandboxId);
      if (record.state === "CONTAINER_EXITED") {
        if (record.message === "") record.message = this.terminationMessage(uid, record, status.status);
        this.exitedRecords.set(record.id, record);
      }
      state.containers.push(record);
    }
    state.sandboxes.sort((a, b) => b.createdAtMs - a.createdAtMs || b.attempt - a.attempt);
    state.containers.sort((a, b) => b.createdAtMs - a.createdAtMs || b.restartCount - a.restartCount);
    return state;
  }

  private terminationLogPath(uid: string, name: string, restartCount: number): string {
    return join(this.opts.rootDir, "pods", uid, "containers", name, `termination-log-${restartCount}`);
  }

  /** The container's termination message file, or with FallbackToLogsOnError the tail of a failed container's log. */
  private terminationMessage(uid: string, record: ContainerRecord, status: cri.ContainerStatus): string {
    let message = "";
    if (this.opts.writeToDisk === false) return message;
    try {
      message = readFileSync(this.terminationLogPath(uid, record.name, record.restartCount)).subarray(0, MAX_TERMINATION_MESSAGE_BYTES).toString("utf8");
    } catch {
      message = "";
    }
    const policy = status.annotations[CONTAINER_TERMINATION_MESSAGE_POLICY_ANNOTATION];
    if (message === "" && policy === "FallbackToLogsOnError" && record.exitCode !== 0 && status.logPath !== "") {
      try {
        const lines = readFileSync(status.logPath, "utf8").split("\n").filter((l) => l !== "").slice(-FALLBACK_LOG_LINES);
        message = lines.map(criLogContent).join("\n").slice(-2048);
      } catch {
        message = "";
      }
    }
    return message;
  }
}

function podMetrics(registry: Registry) {
  return {
    runningPods: gauge(registry, { name: "kubelet_running_pods", help: "Number of pods that have a running pod sandbox" }),
    runningContainers: gauge(registry, { name: "kubelet_running_containers", help: "Number of containers currently running", labelNames: ["container_state"] }),
    podStartDuration: histogram(registry, { name: "kubelet_pod_start_duration_seconds", help: "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run", buckets: [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600] }),
    plegRelistDuration: histogram(registry, { name: "kubelet_pleg_relist_duration_seconds", help: "Duration in seconds for relisting pods in PLEG.", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }),
    plegRelistInterval: histogram(registry, { name: "kubelet_pleg_relist_interval_seconds", help: "Interval in seconds between relisting in PLEG.", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }),
    workerDuration: histogram(registry, { name: "kubelet_pod_worker_duration_seconds", help: "Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync", labelNames: ["operation_type"], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }),
  };
}

/** A CRI log line "<time> <stream> <P|F> <content>" → content. */
function criLogContent(line: string): string {
  const parts = line.split(" ");
  return parts.length >= 4 ? parts.slice(3).join(" ") : line;
}

/** Milliseconds left of the pod's activeDeadlineSeconds (counted from status.startTime), undefined without one. */
function activeDeadlineInMs(pod: Readonly<Pod>, nowMs: number): number | undefined {
  const deadline = pod.spec?.activeDeadlineSeconds;
  const started = parseTime(pod.status?.startTime);
  if (deadline === undefined || started === undefined) return undefined;
  return started + deadline * 1000 - nowMs;
}

function isTerminal(pod: Readonly<Pod>): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/**
 * A rejected pod's status (Kubernetes' rejectPod through its status manager): Failed with the reason and
 * "Pod was rejected: <message>", a startTime, and only the conditions the kubelet does not own kept.
 */
function rejectedStatus(pod: Readonly<Pod>, rejection: Readonly<Rejection>, nowMs: number): PodStatus {
  const status: PodStatus = { phase: "Failed", reason: rejection.reason, message: `Pod was rejected: ${rejection.message}`, startTime: pod.status?.startTime ?? formatTime(nowMs) };
  const kept = (pod.status?.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type));
  if (kept.length > 0) status.conditions = kept;
  return status;
}

function gracePeriodOf(pod: Readonly<Pod>): number {
  return pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
}

function findContainer(pod: Readonly<Pod>, name: string): Readonly<Container> | undefined {
  return (pod.spec?.containers ?? []).find((c) => c.name === name) ?? (pod.spec?.initContainers ?? []).find((c) => c.name === name);
}

function podName(pod: Readonly<Pod>): string {
  return `${podNamespace(pod)}/${pod.metadata.name ?? ""}`;
}

function podRef(pod: Readonly<Pod>): ObjectReference {
  const ref: ObjectReference = { kind: "Pod", apiVersion: "v1", namespace: podNamespace(pod), name: pod.metadata.name ?? "" };
  if (pod.metadata.uid !== undefined) ref.uid = pod.metadata.uid;
  return ref;
}

function containerRef(pod: Readonly<Pod>, name: string): ObjectReference {
  const init = (pod.spec?.initContainers ?? []).some((c) => c.name === name);
  return { ...podRef(pod), fieldPath: `spec.${init ? "initContainers" : "containers"}{${name}}` };
}

function resolvePort(c: Readonly<Container>, port: number | string): number {
  if (typeof port === "number") return port;
  const named = (c.ports ?? []).find((p) => p.name === port);
  return named ? named.containerPort : Number(port);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function newerOrSame(candidate: Readonly<Pod>, current: Readonly<Pod>): boolean {
  const a = Number(candidate.metadata.resourceVersion ?? "0");
  const b = Number(current.metadata.resourceVersion ?? "0");
  return !Number.isFinite(a) || !Number.isFinite(b) || a >= b;
}

/**
 * Whether a pod update matters to its worker. A status the kubelet wrote itself does not: `ownPhase` is the phase of
 * the status it is writing or last wrote, whose echo from the watch often arrives before the write's response.
 */
function relevantChange(old: Readonly<Pod>, pod: Readonly<Pod>, ownPhase: string | undefined): boolean {
  return (
    !deepEqual(old.spec, pod.spec) ||
    old.metadata.deletionTimestamp !== pod.metadata.deletionTimestamp ||
    old.metadata.deletionGracePeriodSeconds !== pod.metadata.deletionGracePeriodSeconds ||
    (old.status?.phase !== pod.status?.phase && (ownPhase === undefined || pod.status?.phase !== ownPhase))
  );
}
