// Defaulting of the batch, autoscaling, policy, networking, scheduling, node, storage and admissionregistration
// kinds: what Kubernetes' SetDefaults_* functions (pkg/apis/<group>/v1/defaults.go) fill in on every decode.
// defaults.ts dispatches here for these kinds; like it, everything is idempotent and tolerates malformed input.
import type { KubeObject } from "./meta.js";
import type {
  CronJob,
  PodSpec,
  CSIDriver,
  HorizontalPodAutoscalerV2,
  HPAScalingRules,
  JobSpec,
  NetworkPolicy,
  PodTemplateSpec,
  PriorityClass,
  StorageClass,
  WebhookConfiguration,
} from "./types/index.js";

/** The CPU utilization an HPA without metrics aims at (autoscaling's DefaultCPUUtilization). */
export const DEFAULT_CPU_UTILIZATION = 80;

const MAX_INT32 = 2147483647;

/** Defaults every pod template gets; defaults.ts passes its own (it imports this file, not the other way round). */
export type PodSpecDefaulter = (spec: PodSpec) => void;

/** Fills in the defaults of a kind this file owns; returns false for any other kind (`group/Kind`). */
export function applyGroupDefaults(groupKind: string, obj: KubeObject, podSpec: PodSpecDefaulter): boolean {
  switch (groupKind) {
    case "batch/Job":
      defaultJobSpec(obj.spec as JobSpec | undefined, podSpec);
      return true;
    case "batch/CronJob":
      defaultCronJob(obj, podSpec);
      return true;
    case "autoscaling/HorizontalPodAutoscaler":
      defaultHorizontalPodAutoscaler(obj);
      return true;
    case "networking.k8s.io/NetworkPolicy":
      defaultNetworkPolicy(obj);
      return true;
    case "scheduling.k8s.io/PriorityClass":
      (obj as PriorityClass).preemptionPolicy ??= "PreemptLowerPriority";
      return true;
    case "storage.k8s.io/StorageClass": {
      const sc = obj as StorageClass;
      sc.reclaimPolicy ??= "Delete";
      sc.volumeBindingMode ??= "Immediate";
      return true;
    }
    case "storage.k8s.io/CSIDriver":
      defaultCSIDriver(obj);
      return true;
    case "admissionregistration.k8s.io/ValidatingWebhookConfiguration":
      defaultWebhooks(obj, false);
      return true;
    case "admissionregistration.k8s.io/MutatingWebhookConfiguration":
      defaultWebhooks(obj, true);
      return true;
    default:
      return false;
  }
}

/** SetDefaults_Job: one pod at a time to one completion, six retries, and the template's pod defaults. */
export function defaultJobSpec(spec: JobSpec | undefined, podSpec: PodSpecDefaulter): void {
  if (!isObject(spec)) return;
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? MAX_INT32 : 6;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy !== undefined ? "Failed" : "TerminatingOrFailed";
  // An onPodConditions pattern without a status means status True.
  for (const rule of Array.isArray(spec.podFailurePolicy?.rules) ? spec.podFailurePolicy.rules : []) {
    for (const pattern of Array.isArray(rule.onPodConditions) ? rule.onPodConditions : []) if (isObject(pattern)) pattern.status ??= "True";
  }
  defaultTemplate(spec.template, podSpec);
}

function defaultCronJob(cj: CronJob, podSpec: PodSpecDefaulter): void {
  const spec = cj.spec;
  if (!isObject(spec)) return;
  spec.concurrencyPolicy ??= "Allow";
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  // The Job spec inside the template gets only the pod defaults (SetDefaults_Job runs on Jobs, not templates).
  const jobSpec = isObject(spec.jobTemplate) ? spec.jobTemplate.spec : undefined;
  if (isObject(jobSpec)) defaultTemplate(jobSpec.template, podSpec);
}

function defaultTemplate(template: PodTemplateSpec | undefined, podSpec: PodSpecDefaulter): void {
  if (isObject(template) && isObject(template.spec)) podSpec(template.spec);
}

/** autoscaling/v2 SetDefaults_HorizontalPodAutoscaler: at least one pod, CPU at 80% when no metric is named. */
function defaultHorizontalPodAutoscaler(hpa: HorizontalPodAutoscalerV2): void {
  const spec = hpa.spec;
  if (!isObject(spec)) return;
  spec.minReplicas ??= 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
  }
  const behavior = spec.behavior;
  if (isObject(behavior)) {
    behavior.scaleUp = defaultScalingRules(behavior.scaleUp, 0, [
      { type: "Pods", value: 4, periodSeconds: 15 },
      { type: "Percent", value: 100, periodSeconds: 15 },
    ]);
    // scaleDown's window stays unset: the controller's --horizontal-pod-autoscaler-downscale-stabilization decides it.
    behavior.scaleDown = defaultScalingRules(behavior.scaleDown, undefined, [{ type: "Percent", value: 100, periodSeconds: 15 }]);
  }
}

function defaultScalingRules(rules: HPAScalingRules | undefined, window: number | undefined, policies: NonNullable<HPAScalingRules["policies"]>): HPAScalingRules {
  const out: HPAScalingRules = isObject(rules) ? rules : {};
  if (window !== undefined) out.stabilizationWindowSeconds ??= window;
  out.selectPolicy ??= "Max";
  if (!Array.isArray(out.policies) || out.policies.length === 0) out.policies = policies;
  return out;
}

/** SetDefaults_NetworkPolicy: TCP ports, and policyTypes from the rules present. */
function defaultNetworkPolicy(np: NetworkPolicy): void {
  const spec = np.spec;
  if (!isObject(spec)) return;
  spec.podSelector ??= {};
  for (const rule of [...listOf(spec.ingress), ...listOf(spec.egress)]) {
    if (!isObject(rule)) continue;
    for (const port of listOf(rule.ports)) if (isObject(port)) port.protocol ??= "TCP";
  }
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
    spec.policyTypes = listOf(spec.egress).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
  }
}

function defaultCSIDriver(driver: CSIDriver): void {
  driver.spec ??= {};
  const spec = driver.spec;
  if (!isObject(spec)) return;
  spec.attachRequired ??= true;
  spec.podInfoOnMount ??= false;
  spec.storageCapacity ??= false;
  spec.fsGroupPolicy ??= "ReadWriteOnceWithFSType";
  spec.requiresRepublish ??= false;
  spec.seLinuxMount ??= false;
  if (!Array.isArray(spec.volumeLifecycleModes) || spec.volumeLifecycleModes.length === 0) spec.volumeLifecycleModes = ["Persistent"];
}

/** admissionregistration/v1 SetDefaults_ValidatingWebhook and SetDefaults_MutatingWebhook. */
function defaultWebhooks(config: WebhookConfiguration, mutating: boolean): void {
  for (const hook of listOf(config.webhooks)) {
    if (!isObject(hook)) continue;
    hook.failurePolicy ??= "Fail";
    hook.matchPolicy ??= "Equivalent";
    hook.namespaceSelector ??= {};
    hook.objectSelector ??= {};
    hook.timeoutSeconds ??= 10;
    if (mutating) hook.reinvocationPolicy ??= "Never";
    for (const rule of listOf(hook.rules)) if (isObject(rule)) rule.scope ??= "*";
    const service = isObject(hook.clientConfig) ? hook.clientConfig.service : undefined;
    if (isObject(service)) service.port ??= 443;
  }
}

function listOf<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [];
}

function isObject<T>(value: T | undefined | null): value is T & object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
