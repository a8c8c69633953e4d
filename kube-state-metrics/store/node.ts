// kube_node_* families (kube-state-metrics' node store): every sample starts with node.
import type { Node } from "../../api/types/index.js";
import type { FamilyGenerator, Labels, Sample } from "../exposition.js";
import { boolValue, conditionSamples, createdSamples, family, metadataMapFamilies, resourceSamples, sample, type FamilyOptions } from "./common.js";

const base = (n: Readonly<Node>): Labels => [["node", n.metadata.name ?? ""]];

function node(name: string, help: string, generate: (n: Readonly<Node>) => Sample[]): FamilyGenerator<Node> {
  return family<Node>(name, help, "gauge", base, generate);
}

/** The node-role.kubernetes.io/<role> label keys' roles. */
function roles(n: Readonly<Node>): string[] {
  const prefix = "node-role.kubernetes.io/";
  return Object.keys(n.metadata.labels ?? {})
    .filter((k) => k.startsWith(prefix) && k.length > prefix.length)
    .map((k) => k.slice(prefix.length))
    .sort();
}

export function nodeFamilies(opts: FamilyOptions): FamilyGenerator<Node>[] {
  return [
    ...metadataMapFamilies<Node>("node", base, opts),
    node("kube_node_info", "Information about a cluster node.", (n) => {
      const info = n.status?.nodeInfo;
      return [
        sample(
          1,
          ["kernel_version", info?.kernelVersion ?? ""],
          ["os_image", info?.osImage ?? ""],
          ["container_runtime_version", info?.containerRuntimeVersion ?? ""],
          ["kubelet_version", info?.kubeletVersion ?? ""],
          ["kubeproxy_version", info?.kubeProxyVersion ?? ""],
          ["provider_id", n.spec?.providerID ?? ""],
          ["pod_cidr", n.spec?.podCIDR ?? ""],
          ["system_uuid", info?.systemUUID ?? ""],
          ["internal_ip", n.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? ""],
        ),
      ];
    }),
    node("kube_node_created", "Unix creation timestamp", (n) => createdSamples(n.metadata)),
    node("kube_node_role", "The role of a cluster node.", (n) => roles(n).map((r) => sample(1, ["role", r]))),
    node("kube_node_spec_unschedulable", "Whether a node can schedule new pods.", (n) => [sample(boolValue(n.spec?.unschedulable))]),
    node("kube_node_spec_taint", "The taint of a cluster node.", (n) => (n.spec?.taints ?? []).map((t) => sample(1, ["key", t.key], ["value", t.value ?? ""], ["effect", t.effect]))),
    node("kube_node_status_condition", "The condition of a cluster node.", (n) => (n.status?.conditions ?? []).flatMap((c) => conditionSamples(c.status, "status", ["condition", c.type]))),
    node("kube_node_status_capacity", "The capacity for different resources of a node.", (n) => resourceSamples(n.status?.capacity)),
    node("kube_node_status_allocatable", "The allocatable for different resources of a node that are available for scheduling.", (n) => resourceSamples(n.status?.allocatable)),
  ];
}
