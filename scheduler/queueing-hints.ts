// Which cluster events may make a pod that a plugin rejected schedulable (the events each Kubernetes plugin
// registers through EventsToRegister). An unschedulable pod is moved back to the active or backoff queue only by
// an event that one of the plugins that rejected it cares about; a pod rejected by no known plugin (an error, an
// out-of-tree plugin) moves on every event. Every pod is retried after the unschedulable timeout in any case.
import { NAME as IMAGE_LOCALITY } from "./plugins/image-locality.js";
import { NAME as INTER_POD_AFFINITY } from "./plugins/inter-pod-affinity.js";
import { NAME as NODE_AFFINITY } from "./plugins/node-affinity.js";
import { NAME as NODE_NAME } from "./plugins/node-name.js";
import { NAME as NODE_PORTS } from "./plugins/node-ports.js";
import { NAME as NODE_RESOURCES_FIT } from "./plugins/node-resources-fit.js";
import { NAME as NODE_UNSCHEDULABLE } from "./plugins/node-unschedulable.js";
import { NAME as POD_TOPOLOGY_SPREAD } from "./plugins/pod-topology-spread.js";
import { NAME as TAINT_TOLERATION } from "./plugins/taint-toleration.js";
import { NAME as VOLUME_BINDING } from "./plugins/volume-binding.js";

/** Cluster events, named as Kubernetes labels them in scheduler_queue_incoming_pods_total{event}. */
export type ClusterEvent =
  | "NodeAdd"
  | "NodeLabelChange"
  | "NodeTaintChange"
  | "NodeAllocatableChange"
  | "NodeSpecUnschedulableChange"
  | "NodeConditionChange"
  | "AssignedPodAdd"
  | "AssignedPodUpdate"
  | "AssignedPodDelete"
  | "PvcAdd"
  | "PvcUpdate"
  | "PvAdd"
  | "PvUpdate"
  | "StorageClassAdd"
  | "StorageClassUpdate"
  | "CSINodeAdd"
  | "CSINodeUpdate";

const INTERESTS: Readonly<Record<string, readonly ClusterEvent[]>> = {
  [NODE_UNSCHEDULABLE]: ["NodeAdd", "NodeSpecUnschedulableChange", "NodeTaintChange"],
  [NODE_NAME]: ["NodeAdd"],
  [TAINT_TOLERATION]: ["NodeAdd", "NodeTaintChange"],
  [NODE_AFFINITY]: ["NodeAdd", "NodeLabelChange"],
  [NODE_PORTS]: ["NodeAdd", "AssignedPodDelete"],
  [NODE_RESOURCES_FIT]: ["NodeAdd", "NodeAllocatableChange", "AssignedPodDelete", "AssignedPodUpdate"],
  [POD_TOPOLOGY_SPREAD]: ["NodeAdd", "NodeLabelChange", "NodeTaintChange", "AssignedPodAdd", "AssignedPodUpdate", "AssignedPodDelete"],
  [INTER_POD_AFFINITY]: ["NodeAdd", "NodeLabelChange", "AssignedPodAdd", "AssignedPodUpdate", "AssignedPodDelete"],
  [IMAGE_LOCALITY]: [],
  [VOLUME_BINDING]: ["NodeAdd", "NodeLabelChange", "PvcAdd", "PvcUpdate", "PvAdd", "PvUpdate", "StorageClassAdd", "StorageClassUpdate", "CSINodeAdd", "CSINodeUpdate"],
};

/** Whether `event` may help a pod that `plugins` rejected. */
export function eventMayHelp(event: string, plugins: ReadonlySet<string> | undefined): boolean {
  if (!plugins || plugins.size === 0) return true;
  for (const p of plugins) {
    const events = INTERESTS[p];
    if (events === undefined || (events as readonly string[]).includes(event)) return true;
  }
  return false;
}
