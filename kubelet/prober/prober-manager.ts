// CONTRACT (placeholder until the prober work lands): liveness, readiness and startup probes, one worker per
// container and probe kind, as in Kubernetes' prober manager. Results are kept per container ID.
import type { EventRecorder } from "../../client/event-recorder.js";
import type * as cri from "../../client/cri/types.js";
import type { Pod } from "../../api/types/index.js";
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";

export type ProbeKind = "liveness" | "readiness" | "startup";
export type ProbeResult = "Success" | "Failure";

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
}

export class ProberManager {
  constructor(readonly options: ProberManagerOptions) {}

  /** Starts and stops workers to match the pod's containers; podIP is the sandbox's (for httpGet/tcpSocket/grpc). */
  syncPod(_pod: Readonly<Pod>, _podIP: string, _containers: readonly ProbedContainer[]): void {
    // placeholder
  }

  removePod(_podUid: string): void {
    // placeholder
  }

  /** The latest result for a container ID; undefined before the first probe (or with no such probe). */
  result(_kind: ProbeKind, _containerId: string): ProbeResult | undefined {
    return undefined;
  }

  stop(): void {
    // placeholder: no workers
  }
}
