// apiregistration.k8s.io/v1 APIService: which server serves a group version. One with a `service` is served by an
// extension apiserver behind that Service (the aggregation layer proxies to it); one without is served locally.
import type { KubeObject } from "../meta.js";

export interface ServiceReference {
  namespace?: string;
  name?: string;
  /** The Service port; 443 by default. */
  port?: number;
}

export interface APIServiceSpec {
  service?: ServiceReference | null;
  group?: string;
  version?: string;
  insecureSkipTLSVerify?: boolean;
  /** PEM CA bundle (base64 in JSON) for the backend's serving certificate. */
  caBundle?: string;
  groupPriorityMinimum: number;
  versionPriority: number;
}

export interface APIServiceCondition {
  type: "Available";
  status: "True" | "False" | "Unknown";
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface APIServiceStatus {
  conditions?: APIServiceCondition[];
}

export interface APIService extends KubeObject {
  spec?: APIServiceSpec;
  status?: APIServiceStatus;
}
