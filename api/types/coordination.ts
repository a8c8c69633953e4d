// coordination.k8s.io/v1 Lease: node heartbeats (kube-node-lease/<node>) and leader election.
import type { KubeObject } from "../meta.js";

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime (RFC 3339 with microseconds, e.g. "2024-05-01T10:00:00.123456Z"). */
  acquireTime?: string;
  /** MicroTime. */
  renewTime?: string;
  leaseTransitions?: number;
  strategy?: string;
  preferredHolder?: string;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}
