// admissionregistration.k8s.io/v1 webhook configurations (stored and served; kubelab calls no webhooks) and
// apps/v1 ControllerRevision.
import type { KubeObject, LabelSelector } from "../meta.js";

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: "Cluster" | "Namespaced" | "*";
}

export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; path?: string; port?: number };
  caBundle?: string;
}

export interface Webhook {
  name?: string;
  clientConfig?: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: "Ignore" | "Fail";
  matchPolicy?: "Exact" | "Equivalent";
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: "Never" | "IfNeeded";
  matchConditions?: { name: string; expression: string }[];
}

export interface WebhookConfiguration extends KubeObject {
  webhooks?: Webhook[];
}

export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision?: number;
}
