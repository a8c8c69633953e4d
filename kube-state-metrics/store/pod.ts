// kube_pod_* families (kube-state-metrics' pod store): every sample starts with namespace, pod and uid.
import type { Container, ContainerStatus, Pod } from "../../api/types/index.js";
import type { FamilyGenerator, Labels, Sample } from "../exposition.js";
import { boolValue, conditionSamples, controllerOf, createdSamples, family, metadataMapFamilies, ownerSamples, resourceSamples, sample, unixSeconds, type FamilyOptions } from "./common.js";

const PHASES = ["Pending", "Succeeded", "Failed", "Unknown", "Running"] as const;
/** The pod status reasons kube_pod_status_reason reports, each as its own series. */
const STATUS_REASONS = ["Evicted", "NodeAffinity", "NodeLost", "Shutdown", "UnexpectedAdmissionError"] as const;

const base = (p: Readonly<Pod>): Labels => [
  ["namespace", p.metadata.namespace ?? ""],
  ["pod", p.metadata.name ?? ""],
  ["uid", p.metadata.uid ?? ""],
];

function pod(name: string, help: string, generate: (p: Readonly<Pod>) => Sample[], type: "gauge" | "counter" = "gauge"): FamilyGenerator<Pod> {
  return family<Pod>(name, help, type, base, generate);
}

/** The per-container families of app containers ("container") or init containers ("init_container"). */
function containerFamilies(kind: "container" | "init_container"): FamilyGenerator<Pod>[] {
  const statuses = (p: Readonly<Pod>): readonly Readonly<ContainerStatus>[] => (kind === "container" ? p.status?.containerStatuses : p.status?.initContainerStatuses) ?? [];
  const specs = (p: Readonly<Pod>): readonly Readonly<Container>[] => (kind === "container" ? p.spec?.containers : p.spec?.initContainers) ?? [];
  /** One sample per container status, labeled container, when `value` gives one. */
  const each = (p: Readonly<Pod>, value: (cs: Readonly<ContainerStatus>) => Sample | undefined): Sample[] => {
    const out: Sample[] = [];
    for (const cs of statuses(p)) {
      const s = value(cs);
      if (s) out.push({ labels: [["container", cs.name], ...s.labels], value: s.value });
    }
    return out;
  };
  const f = (suffix: string, help: string, generate: (p: Readonly<Pod>) => Sample[], type: "gauge" | "counter" = "gauge"): FamilyGenerator<Pod> =>
    pod(`kube_pod_${kind}_${suffix}`, kind === "container" ? help : help.replace(/\b(a )?(containers?)\b/, (_: string, article: string | undefined, word: string) => `${article ? "an " : ""}init ${word}`), generate, type);
  return [
    f("info", "Information about a container in a pod.", (p) =>
      each(p, (cs) =>
        sample(1, ["image_spec", specs(p).find((c) => c.name === cs.name)?.image ?? ""], ["image", cs.image], ["image_id", cs.imageID], ["container_id", cs.containerID ?? ""]),
      ),
    ),
    f("status_waiting", "Describes whether the container is currently in waiting state.", (p) => each(p, (cs) => sample(boolValue(cs.state?.waiting !== undefined)))),
    f("status_waiting_reason", "Describes the reason the container is currently in waiting state.", (p) =>
      each(p, (cs) => (cs.state?.waiting?.reason ? sample(1, ["reason", cs.state.waiting.reason]) : undefined)),
    ),
    f("status_running", "Describes whether the container is currently in running state.", (p) => each(p, (cs) => sample(boolValue(cs.state?.running !== undefined)))),
    f("state_started", "Start time in unix timestamp for a pod container.", (p) =>
      each(p, (cs) => {
        const t = unixSeconds(cs.state?.running?.startedAt ?? cs.state?.terminated?.startedAt);
        return t === undefined ? undefined : sample(t);
      }),
    ),
    f("status_terminated", "Describes whether the container is currently in terminated state.", (p) => each(p, (cs) => sample(boolValue(cs.state?.terminated !== undefined)))),
    f("status_terminated_reason", "Describes the reason the container is currently in terminated state.", (p) =>
      each(p, (cs) => (cs.state?.terminated?.reason ? sample(1, ["reason", cs.state.terminated.reason]) : undefined)),
    ),
    f("status_last_terminated_reason", "Describes the last reason the container was in terminated state.", (p) =>
      each(p, (cs) => (cs.lastState?.terminated?.reason ? sample(1, ["reason", cs.lastState.terminated.reason]) : undefined)),
    ),
    f("status_last_terminated_exitcode", "Describes the exit code for the last container in terminated state.", (p) =>
      each(p, (cs) => (cs.lastState?.terminated ? sample(cs.lastState.terminated.exitCode) : undefined)),
    ),
    f("status_ready", "Describes whether the containers readiness check succeeded.", (p) => each(p, (cs) => sample(boolValue(cs.ready)))),
    f("status_restarts_total", "The number of container restarts per container.", (p) => each(p, (cs) => sample(cs.restartCount)), "counter"),
    f("resource_requests", "The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.", (p) =>
      specs(p).flatMap((c) => resourceSamples(c.resources?.requests, ["container", c.name], ["node", p.spec?.nodeName ?? ""])),
    ),
    f("resource_limits", "The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.", (p) =>
      specs(p).flatMap((c) => resourceSamples(c.resources?.limits, ["container", c.name], ["node", p.spec?.nodeName ?? ""])),
    ),
  ];
}

/** kube-state-metrics' "<none>" for an absent or empty value. */
function orNone(value: string | undefined): string {
  return value === undefined || value === "" ? "<none>" : value;
}

/** The time a condition turned True, as the one sample of a *_time family; none while it is not True. */
function conditionTrueSince(p: Readonly<Pod>, type: string): Sample[] {
  const c = p.status?.conditions?.find((x) => x.type === type && x.status === "True");
  const t = unixSeconds(c?.lastTransitionTime);
  return t === undefined ? [] : [sample(t)];
}

function condition(p: Readonly<Pod>, type: string): string | undefined {
  return p.status?.conditions?.find((c) => c.type === type)?.status;
}

export function podFamilies(opts: FamilyOptions): FamilyGenerator<Pod>[] {
  return [
    ...metadataMapFamilies<Pod>("pod", base, opts),
    pod("kube_pod_info", "Information about pod.", (p) => {
      const owner = controllerOf(p.metadata);
      return [
        sample(
          1,
          ["host_ip", p.status?.hostIP ?? ""],
          ["pod_ip", p.status?.podIP ?? ""],
          ["node", p.spec?.nodeName ?? ""],
          ["created_by_kind", orNone(owner?.kind)],
          ["created_by_name", orNone(owner?.name)],
          ["priority_class", p.spec?.priorityClassName ?? ""],
          ["host_network", String(p.spec?.hostNetwork === true)],
        ),
      ];
    }),
    pod("kube_pod_start_time", "Start time in unix timestamp for a pod.", (p) => {
      const t = unixSeconds(p.status?.startTime);
      return t === undefined ? [] : [sample(t)];
    }),
    pod("kube_pod_owner", "Information about the Pod's owner.", (p) => ownerSamples(p.metadata.ownerReferences)),
    pod("kube_pod_created", "Unix creation timestamp", (p) => createdSamples(p.metadata)),
    pod("kube_pod_deletion_timestamp", "Unix deletion timestamp", (p) => {
      const t = unixSeconds(p.metadata.deletionTimestamp);
      return t === undefined ? [] : [sample(t)];
    }),
    pod("kube_pod_restart_policy", "Describes the restart policy in use by this pod.", (p) => [sample(1, ["type", p.spec?.restartPolicy ?? "Always"])]),
    pod("kube_pod_status_phase", "The pods current phase.", (p) => {
      const phase = p.status?.phase;
      return phase ? PHASES.map((ph) => sample(boolValue(ph === phase), ["phase", ph])) : [];
    }),
    pod("kube_pod_status_ready", "Describes whether the pod is ready to serve requests.", (p) => {
      const status = condition(p, "Ready");
      return status === undefined ? [] : conditionSamples(status, "condition");
    }),
    pod("kube_pod_status_scheduled", "Describes the status of the scheduling process for the pod.", (p) => {
      const status = condition(p, "PodScheduled");
      return status === undefined ? [] : conditionSamples(status, "condition");
    }),
    pod("kube_pod_status_scheduled_time", "Unix timestamp when pod moved into scheduled status", (p) => conditionTrueSince(p, "PodScheduled")),
    pod("kube_pod_status_ready_time", "Readiness achieved time in unix timestamp for a pod.", (p) => conditionTrueSince(p, "Ready")),
    pod("kube_pod_status_container_ready_time", "Readiness achieved time in unix timestamp for a pod containers.", (p) => conditionTrueSince(p, "ContainersReady")),
    pod("kube_pod_completion_time", "Completion time in unix timestamp for a pod.", (p) => {
      const finished = (p.status?.containerStatuses ?? []).map((cs) => unixSeconds(cs.state?.terminated?.finishedAt)).filter((t): t is number => t !== undefined);
      return finished.length === 0 ? [] : [sample(Math.max(...finished))];
    }),
    pod("kube_pod_ips", "Pod IP addresses", (p) => (p.status?.podIPs ?? []).map(({ ip }) => sample(1, ["ip", ip], ["ip_family", ip.includes(":") ? "6" : "4"]))),
    pod("kube_pod_status_reason", "The pod status reasons", (p) => STATUS_REASONS.map((r) => sample(boolValue(p.status?.reason === r), ["reason", r]))),
    pod("kube_pod_status_qos_class", "The pods current qosClass.", (p) =>
      p.status?.qosClass ? (["BestEffort", "Burstable", "Guaranteed"] as const).map((q) => sample(boolValue(q === p.status?.qosClass), ["qos_class", q])) : [],
    ),
    ...containerFamilies("container"),
    ...containerFamilies("init_container"),
  ];
}
