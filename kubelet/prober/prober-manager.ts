// Liveness, readiness and startup probes, one worker per container and probe kind, as in Kubernetes' prober
// manager (pkg/kubelet/prober). Results are kept per container ID; the pod worker reads them with result() and is
// told through onResultChange when one changes, so it can kill a container that failed liveness or startup and
// report readiness.
//   - syncPod runs a worker for each probe of each running container (regular containers and sidecar init
//     containers, restartPolicy Always) and stops the others; a stopped worker forgets its container's results.
//   - Initial results per container ID: readiness Failure until its first success, liveness Success until
//     failureThreshold failures, startup none until it succeeds or fails (Kubernetes' Unknown: not started).
//   - onResultChange fires when a probe moves a result, not for the initial results syncPod sets nor for results
//     dropped with their worker (the caller reads result() after syncPod anyway).
//   - A startup success probes readiness at once instead of at its next tick (Kubernetes triggers it from the
//     status update that follows).
// Metrics (with a registry): prober_probe_total{probe_type,result,container,pod,namespace,pod_uid} counts
// probes by result (successful, failed); prober_probe_duration_seconds{probe_type,container,pod,namespace}
// observes successful ones.
import type { Container, Pod, Probe } from "../../api/types/index.js";
import type { EventRecorder } from "../../client/event-recorder.js";
import type * as cri from "../../client/cri/types.js";
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import { counter, histogram, type Registry } from "../../component-base/metrics.js";
import { Prober, type ProbeKind, type ProbeResult } from "./prober.js";
import { ProbeWorker, type ProberDurationLabel, type ProberResultLabel, type WorkerHost } from "./worker.js";

export type { ProbeKind, ProbeResult } from "./prober.js";

/** A container as the pod worker last saw it in the runtime. */
export interface ProbedContainer {
  name: string;
  containerId: string;
  running: boolean;
  /** When the container started (ms since the epoch): initialDelaySeconds counts from here. */
  startedAtMs: number;
}

export interface ProberManagerOptions {
  /** ExecSync for exec probes. */
  runtime: { execSync(containerId: string, cmd: readonly string[], timeoutSeconds: number): Promise<cri.ExecSyncResponse> };
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  /** Called when a result changes (the pod worker resyncs that pod). */
  onResultChange: (podUid: string) => void;
  /** Where prober_probe_total and prober_probe_duration_seconds go (no metrics without one). */
  registry?: Registry;
  /** [0, 1) for the jitter of first probes (default Math.random); tests pass () => 0. */
  random?: () => number;
  /** ProberOptions.network: "simulated" on hollow nodes. */
  network?: "real" | "simulated";
}

const PROBE_KINDS: readonly ProbeKind[] = ["startup", "liveness", "readiness"];

function probeOf(container: Readonly<Container>, kind: ProbeKind): Readonly<Probe> | undefined {
  switch (kind) {
    case "liveness":
      return container.livenessProbe;
    case "readiness":
      return container.readinessProbe;
    case "startup":
      return container.startupProbe;
  }
}

interface StoredResult {
  result: ProbeResult;
  podUid: string;
}

export class ProberManager {
  /** Workers by pod UID, then by "<container>/<kind>". */
  private readonly workers = new Map<string, Map<string, ProbeWorker>>();
  /** Results by "<kind>/<container ID>". */
  private readonly results = new Map<string, StoredResult>();
  private readonly host: WorkerHost;
  private stopped = false;

  constructor(readonly options: ProberManagerOptions) {
    const { registry, clock, logger } = options;
    this.host = {
      prober: new Prober({ runtime: options.runtime, recorder: options.recorder, clock, logger, ...(options.network ? { network: options.network } : {}) }),
      clock,
      logger,
      random: options.random ?? Math.random,
      startedAtMs: clock.now(),
      probeTotal: registry
        ? counter<ProberResultLabel>(registry, {
            name: "prober_probe_total",
            help: "Cumulative number of a liveness, readiness or startup probe for a container by result.",
            labelNames: ["probe_type", "result", "container", "pod", "namespace", "pod_uid"],
          })
        : undefined,
      probeDuration: registry
        ? histogram<ProberDurationLabel>(registry, {
            name: "prober_probe_duration_seconds",
            help: "Duration in seconds for a probe response.",
            labelNames: ["probe_type", "container", "pod", "namespace"],
          })
        : undefined,
      result: (kind, containerId) => this.result(kind, containerId),
      setResult: (kind, containerId, podUid, result, notify) => {
        const key = resultKey(kind, containerId);
        if (this.results.get(key)?.result === result) return;
        this.results.set(key, { result, podUid });
        if (notify) this.options.onResultChange(podUid);
      },
      removeResult: (kind, containerId) => {
        this.results.delete(resultKey(kind, containerId));
      },
      containerStarted: (podUid, containerName) => {
        this.workers.get(podUid)?.get(workerKey(containerName, "readiness"))?.trigger();
      },
    };
  }

  /** Starts and stops workers to match the pod's containers; podIP is the sandbox's (for httpGet/tcpSocket/grpc). */
  syncPod(pod: Readonly<Pod>, podIP: string, containers: readonly ProbedContainer[]): void {
    if (this.stopped) return;
    const podUid = pod.metadata.uid ?? "";
    const current = new Map<string, ProbedContainer>();
    for (const c of containers) {
      const seen = current.get(c.name);
      // The running one wins over exited ones of the same name; among running ones, the latest.
      if (!seen || (c.running && (!seen.running || c.startedAtMs >= seen.startedAtMs))) current.set(c.name, c);
    }
    const podWorkers = this.workers.get(podUid) ?? new Map<string, ProbeWorker>();
    const wanted = new Set<string>();
    for (const { container, fieldPath } of probedContainers(pod)) {
      const seen = current.get(container.name);
      if (!seen?.running) continue;
      for (const kind of PROBE_KINDS) {
        const spec = probeOf(container, kind);
        if (spec === undefined) continue;
        const key = workerKey(container.name, kind);
        wanted.add(key);
        let worker = podWorkers.get(key);
        const created = worker === undefined;
        worker ??= new ProbeWorker(kind, spec, pod, podIP, container, fieldPath, this.host);
        worker.update(pod, podIP, seen);
        if (created) {
          podWorkers.set(key, worker);
          worker.start();
        }
      }
    }
    for (const [key, worker] of podWorkers) {
      if (wanted.has(key)) continue;
      worker.stop();
      podWorkers.delete(key);
    }
    if (podWorkers.size > 0) this.workers.set(podUid, podWorkers);
    else this.workers.delete(podUid);
  }

  /** Stops the pod's workers and forgets their results. */
  removePod(podUid: string): void {
    const podWorkers = this.workers.get(podUid);
    if (!podWorkers) return;
    for (const worker of podWorkers.values()) worker.stop();
    this.workers.delete(podUid);
    for (const [key, stored] of this.results) if (stored.podUid === podUid) this.results.delete(key);
  }

  /**
   * The latest result for a container ID; undefined with no such probe (or no running worker), and for startup
   * until its first result.
   */
  result(kind: ProbeKind, containerId: string): ProbeResult | undefined {
    return this.results.get(resultKey(kind, containerId))?.result;
  }

  /** Stops every worker; later syncPod calls do nothing. */
  stop(): void {
    this.stopped = true;
    for (const uid of [...this.workers.keys()]) this.removePod(uid);
  }

  /** Pod UIDs with running workers, and how many (for tests and debugging). */
  workerCount(podUid?: string): number {
    if (podUid !== undefined) return this.workers.get(podUid)?.size ?? 0;
    let n = 0;
    for (const podWorkers of this.workers.values()) n += podWorkers.size;
    return n;
  }
}

/**
 * The message of the pod worker's "Killing" event for a container that failed its liveness or startup probe,
 * as Kubernetes words it: "Container app failed liveness probe, will be restarted" (without the tail when the
 * restart policy will not restart it).
 */
export function probeKillMessage(kind: "liveness" | "startup", containerName: string, restart: boolean): string {
  const message = `Container ${containerName} failed ${kind} probe`;
  return restart ? `${message}, will be restarted` : message;
}

/** The pod's containers that can have probes, with the fieldPath their events carry. */
function probedContainers(pod: Readonly<Pod>): { container: Readonly<Container>; fieldPath: string }[] {
  const out: { container: Readonly<Container>; fieldPath: string }[] = [];
  for (const c of pod.spec?.initContainers ?? []) if (c.restartPolicy === "Always") out.push({ container: c, fieldPath: `spec.initContainers{${c.name}}` });
  for (const c of pod.spec?.containers ?? []) out.push({ container: c, fieldPath: `spec.containers{${c.name}}` });
  return out;
}

function workerKey(containerName: string, kind: ProbeKind): string {
  return `${containerName}/${kind}`;
}

function resultKey(kind: ProbeKind, containerId: string): string {
  return `${kind}/${containerId}`;
}
