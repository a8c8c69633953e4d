// One probe of one container (Kubernetes' pkg/kubelet/prober/worker.go): ticks every periodSeconds through the
// injected clock and turns single probe results into the container's result with the thresholds.
//   - The first tick comes after a random part of the period when the kubelet started less than a period ago
//     (so a restarted kubelet does not probe everything at once), else at once; ticks that fall while a probe is
//     still running collapse into one that runs right after it, as a Go ticker's buffered channel does.
//   - A tick does nothing before initialDelaySeconds have passed since the container started (whole seconds, so
//     the first probe lands on the first tick after the delay), while the worker is on hold, for liveness and
//     readiness while the container's startup probe has not succeeded, and for startup once it has.
//   - failureThreshold consecutive failures set Failure, successThreshold consecutive successes set Success
//     (1 for liveness and startup, whatever the spec says); a result that errored is thrown away.
//   - A liveness or startup Failure puts the worker on hold until a new container ID: the container is about to
//     be killed, and probing it meanwhile could only mislead.
//   - A new container ID resets everything and sets the kind's initial result: readiness Failure, liveness
//     Success, startup none (Kubernetes' Unknown: not started).
//   - While the pod is being deleted, liveness and startup report Success and stop, so a terminating container is
//     not killed for being unhealthy.
// Probe-level terminationGracePeriodSeconds is not used here: it is the pod worker's business when it kills.
import type { Container, Pod, Probe } from "../../api/types/index.js";
import type { Clock, Timer } from "../../component-base/clock.js";
import type { Counter, Histogram } from "../../component-base/metrics.js";
import type { Logger } from "../../component-base/logging.js";
import { kindName, type ProbeKind, type Prober, type ProbeResult } from "./prober.js";

export const DEFAULT_PERIOD_SECONDS = 10;
export const DEFAULT_SUCCESS_THRESHOLD = 1;
export const DEFAULT_FAILURE_THRESHOLD = 3;

export type ProberResultLabel = "probe_type" | "result" | "container" | "pod" | "namespace" | "pod_uid";
export type ProberDurationLabel = "probe_type" | "container" | "pod" | "namespace";

/** What a worker needs from its manager. */
export interface WorkerHost {
  prober: Prober;
  clock: Clock;
  logger: Logger;
  /** [0, 1) for the first tick's jitter. */
  random: () => number;
  /** When the manager started (ms): the jitter applies within one period of it. */
  startedAtMs: number;
  probeTotal: Counter<ProberResultLabel> | undefined;
  probeDuration: Histogram<ProberDurationLabel> | undefined;
  result(kind: ProbeKind, containerId: string): ProbeResult | undefined;
  /** Records a result; `notify` calls onResultChange when it differs from the previous one. */
  setResult(kind: ProbeKind, containerId: string, podUid: string, result: ProbeResult, notify: boolean): void;
  removeResult(kind: ProbeKind, containerId: string): void;
  /** A container's startup probe just succeeded. */
  containerStarted(podUid: string, containerName: string): void;
}

/** The running container a worker probes. */
export interface WorkerContainer {
  containerId: string;
  startedAtMs: number;
}

export class ProbeWorker {
  private containerId = "";
  private containerStartedAtMs = 0;
  private lastResult: ProbeResult | undefined;
  private resultRun = 0;
  private onHold = false;
  private timer: Timer | undefined;
  private probing = false;
  private tickPending = false;
  private stopped = false;
  private readonly periodMs: number;
  private readonly successThreshold: number;
  private readonly failureThreshold: number;

  constructor(
    readonly kind: ProbeKind,
    readonly spec: Readonly<Probe>,
    private pod: Readonly<Pod>,
    private podIP: string,
    readonly container: Readonly<Container>,
    readonly fieldPath: string,
    private readonly host: WorkerHost,
  ) {
    this.periodMs = positive(spec.periodSeconds, DEFAULT_PERIOD_SECONDS) * 1000;
    this.successThreshold = kind === "readiness" ? positive(spec.successThreshold, DEFAULT_SUCCESS_THRESHOLD) : 1;
    this.failureThreshold = positive(spec.failureThreshold, DEFAULT_FAILURE_THRESHOLD);
  }

  get podUid(): string {
    return this.pod.metadata.uid ?? "";
  }

  /** Schedules the first tick. */
  start(): void {
    const { clock, random, startedAtMs } = this.host;
    const recentlyStarted = this.periodMs > clock.now() - startedAtMs;
    this.schedule(recentlyStarted ? Math.floor(random() * this.periodMs) : 0);
  }

  /** The pod (deletion), its IP and the container as last seen; a new container ID resets the worker. */
  update(pod: Readonly<Pod>, podIP: string, container: WorkerContainer): void {
    this.pod = pod;
    this.podIP = podIP;
    this.containerStartedAtMs = container.startedAtMs;
    if (container.containerId === this.containerId) return;
    if (this.containerId !== "") this.host.removeResult(this.kind, this.containerId);
    this.containerId = container.containerId;
    this.lastResult = undefined;
    this.resultRun = 0;
    this.onHold = false;
    if (this.kind === "readiness") this.host.setResult(this.kind, this.containerId, this.podUid, "Failure", false);
    if (this.kind === "liveness") this.host.setResult(this.kind, this.containerId, this.podUid, "Success", false);
  }

  /** Probes now (if a probe is running, right after it), outside the period. */
  trigger(): void {
    this.tick();
  }

  /** Stops ticking and forgets the container's result and metric series; a probe in flight is ignored. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    if (this.containerId !== "") this.host.removeResult(this.kind, this.containerId);
    const labels = this.durationLabels();
    for (const result of ["successful", "failed", "unknown"]) this.host.probeTotal?.remove({ ...labels, result, pod_uid: this.podUid });
    this.host.probeDuration?.remove(labels);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.host.clock.setTimeout(() => {
      this.schedule(this.periodMs);
      this.tick();
    }, delayMs);
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.probing) {
      this.tickPending = true;
      return;
    }
    this.doProbe().catch((err: unknown) => {
      this.host.logger.error({ err, container: this.container.name, probeType: kindName(this.kind) }, "Probe worker failed");
    });
  }

  private async doProbe(): Promise<void> {
    const { host, kind } = this;
    if (this.onHold || this.containerId === "") return;
    if (this.pod.metadata.deletionTimestamp !== undefined && kind !== "readiness") {
      host.setResult(kind, this.containerId, this.podUid, "Success", true);
      this.onHold = true;
      return;
    }
    const elapsedSeconds = Math.floor((host.clock.now() - this.containerStartedAtMs) / 1000);
    if (elapsedSeconds < (this.spec.initialDelaySeconds ?? 0)) return;
    const started = this.container.startupProbe === undefined || host.result("startup", this.containerId) === "Success";
    if (kind === "startup" ? started : !started) return;

    const containerId = this.containerId;
    const begin = host.clock.now();
    this.probing = true;
    let result: ProbeResult | undefined;
    try {
      result = await host.prober.probe(kind, this.spec, {
        pod: this.pod,
        podIP: this.podIP,
        container: this.container,
        containerId,
        fieldPath: this.fieldPath,
      });
    } finally {
      this.probing = false;
    }
    if (!this.stopped && containerId === this.containerId && result !== undefined) this.record(result, begin);
    if (this.tickPending) {
      this.tickPending = false;
      this.tick();
    }
  }

  private record(result: ProbeResult, begin: number): void {
    const { host, kind } = this;
    const labels = this.durationLabels();
    host.probeTotal?.inc({ ...labels, result: result === "Success" ? "successful" : "failed", pod_uid: this.podUid });
    if (result === "Success") host.probeDuration?.observe(labels, (host.clock.now() - begin) / 1000);

    if (this.lastResult === result) this.resultRun++;
    else {
      this.lastResult = result;
      this.resultRun = 1;
    }
    if (result === "Failure" && this.resultRun < this.failureThreshold) return;
    if (result === "Success" && this.resultRun < this.successThreshold) return;

    const before = host.result(kind, this.containerId);
    host.setResult(kind, this.containerId, this.podUid, result, true);
    if (kind !== "readiness" && result === "Failure") {
      this.onHold = true;
      this.resultRun = 0;
    }
    if (kind === "startup" && result === "Success" && before !== "Success") host.containerStarted(this.podUid, this.container.name);
  }

  private durationLabels(): Record<ProberDurationLabel, string> {
    return {
      probe_type: kindName(this.kind),
      container: this.container.name,
      pod: this.pod.metadata.name ?? "",
      namespace: this.pod.metadata.namespace ?? "",
    };
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}
