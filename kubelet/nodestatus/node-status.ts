// CONTRACT (placeholder until the node-status work lands): registers this kubelet's Node, keeps its status and
// its Lease current. The kubelet's app wires it; hollow nodes will run many of these in one process.
import type { RestClient } from "../../client/rest.js";
import type { EventRecorder } from "../../client/event-recorder.js";
import type * as cri from "../../client/cri/types.js";
import type { Node } from "../../api/types/index.js";
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";

/** What the Node reports about its runtime: the kubelet passes its CRI client (or a fake). */
export interface RuntimeInfoSource {
  version(): Promise<cri.VersionResponse>;
  status(): Promise<cri.StatusResponse>;
}

export interface NodeStatusOptions {
  client: RestClient;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  runtime: RuntimeInfoSource;
  nodeName: string;
  /** InternalIP; Hostname address is nodeName. */
  nodeIP: string;
  /** status.daemonEndpoints.kubeletEndpoint.Port (--port). */
  kubeletPort: number;
  /** Extra labels (--node-labels); the kubelet's own (hostname, os, arch) are always set. */
  labels: Readonly<Record<string, string>>;
  /** Capacity overrides; unset values come from the machine (os.cpus, os.totalmem, the root dir's filesystem). */
  capacity: { cpu?: string; memory?: string; ephemeralStorage?: string; maxPods: number };
  /** spec.podCIDR to register with (--pod-cidr); the controller-manager's IPAM sets it otherwise. */
  podCidr?: string;
  /** --node-status-update-frequency (ms), default 10 s. */
  statusUpdateFrequencyMs: number;
  /** Unchanged status is still posted this often (Kubernetes' nodeStatusReportFrequency, 5 min). */
  statusReportFrequencyMs: number;
  /** --node-lease-duration-seconds, default 40; renewed every quarter of it. */
  leaseDurationSeconds: number;
  /** Where the root filesystem's capacity is measured (--root-dir). */
  rootDir: string;
}

export class NodeStatusManager {
  constructor(readonly options: NodeStatusOptions) {}

  /** Registers (or adopts) the Node, then keeps status and Lease current until stop(). Resolves once registered. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  /** The Node as last read or written (podCIDR, addresses), undefined before registration. */
  node(): Readonly<Node> | undefined {
    return undefined;
  }
}
