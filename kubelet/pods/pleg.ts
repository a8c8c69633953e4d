// A PLEG-like relist (Kubernetes' pleg/generic.go): every period, one ListPodSandbox and one ListContainers over
// the whole runtime, grouped by the pod uid label; a pod whose sandboxes or containers changed state has its worker
// woken. The same lists feed kubelet_running_pods / kubelet_running_containers and name the uids the runtime
// holds (the pod manager removes those of pods it no longer has).
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import { POD_UID_LABEL } from "../runtime-labels.js";
import type { PodRuntime } from "./runtime.js";
import type { PodRuntimeState } from "./runtime-state.js";

export interface RelistResult {
  /** Every pod uid the runtime holds a sandbox or container for. */
  uids: Set<string>;
  runningPods: number;
  containersByState: Map<string, number>;
}

export interface PlegOptions {
  runtime: Pick<PodRuntime, "listPodSandbox" | "listContainers">;
  clock: Clock;
  logger: Logger;
  periodMs: number;
  /** A pod's runtime state changed (or appeared, or vanished). */
  onPodChanged: (uid: string) => void;
  /** After every successful relist. */
  onRelist?: (result: RelistResult) => void;
  /**
   * After every successful relist: how long it took and the time since the previous one started (undefined for the
   * first), for kubelet_pleg_relist_duration_seconds and kubelet_pleg_relist_interval_seconds.
   */
  onRelistTimed?: (durationSeconds: number, intervalSeconds: number | undefined) => void;
}

export class Pleg {
  private fingerprints = new Map<string, string>();
  private lastRelistMs = 0;
  /** performance.now() when the previous relist started, for the interval metric. */
  private lastRelistStarted: number | undefined;

  constructor(private readonly opts: PlegOptions) {}

  /** Healthy while relists keep succeeding (Kubernetes' PLEG health check: 3 minutes). */
  healthy(): boolean {
    return this.lastRelistMs === 0 || this.opts.clock.now() - this.lastRelistMs < 3 * 60_000;
  }

  async run(signal: AbortSignal): Promise<void> {
    this.lastRelistMs = this.opts.clock.now();
    while (!signal.aborted) {
      await this.relist().catch((err: unknown) => {
        this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "PLEG: relist failed");
      });
      if (!(await this.opts.clock.sleep(this.opts.periodMs, signal))) return;
    }
  }

  /**
   * The pod's worker read `state` at the end of its sync: a relist that finds the pod so has nothing new to tell it
   * (the sandbox and containers the worker itself just started do not wake it for a sync that would change nothing).
   * A relist that finds anything else wakes it as before.
   */
  observed(state: Readonly<PodRuntimeState>): void {
    const parts: string[] = [];
    for (const s of state.sandboxes) parts.push(`s:${s.id}:${s.ready ? "SANDBOX_READY" : "SANDBOX_NOTREADY"}`);
    for (const c of state.containers) parts.push(`c:${c.id}:${c.state}`);
    if (parts.length === 0) this.fingerprints.delete(state.uid);
    else this.fingerprints.set(state.uid, fingerprint(parts));
  }

  async relist(): Promise<RelistResult> {
    const started = performance.now();
    const [sandboxes, containers] = await Promise.all([this.opts.runtime.listPodSandbox(), this.opts.runtime.listContainers()]);
    const parts = new Map<string, string[]>();
    const add = (uid: string | undefined, part: string): void => {
      if (uid === undefined || uid === "") return;
      const list = parts.get(uid);
      if (list) list.push(part);
      else parts.set(uid, [part]);
    };
    let runningPods = 0;
    for (const s of sandboxes) {
      add(s.labels[POD_UID_LABEL], `s:${s.id}:${s.state}`);
      if (s.state === "SANDBOX_READY") runningPods++;
    }
    const containersByState = new Map<string, number>();
    for (const c of containers) {
      add(c.labels[POD_UID_LABEL], `c:${c.id}:${c.state}`);
      const state = c.state.replace("CONTAINER_", "").toLowerCase();
      containersByState.set(state, (containersByState.get(state) ?? 0) + 1);
    }
    const next = new Map<string, string>();
    for (const [uid, list] of parts) next.set(uid, fingerprint(list));
    const changed: string[] = [];
    for (const [uid, fp] of next) if (this.fingerprints.get(uid) !== fp) changed.push(uid);
    for (const uid of this.fingerprints.keys()) if (!next.has(uid)) changed.push(uid);
    this.fingerprints = next;
    this.lastRelistMs = this.opts.clock.now();
    for (const uid of changed) this.opts.onPodChanged(uid);
    const result = { uids: new Set(next.keys()), runningPods, containersByState };
    this.opts.onRelist?.(result);
    const interval = this.lastRelistStarted === undefined ? undefined : (started - this.lastRelistStarted) / 1000;
    this.lastRelistStarted = started;
    this.opts.onRelistTimed?.((performance.now() - started) / 1000, interval);
    return result;
  }
}

/** A pod's runtime state as one string: its sandboxes' and containers' "<s|c>:<id>:<state>", sorted. */
function fingerprint(parts: string[]): string {
  return parts.sort().join(",");
}
