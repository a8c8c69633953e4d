// Informer handlers (k8s pkg/scheduler/eventhandlers.go): route every pod and node change to the cache or the
// queue. Handlers do no API calls and no scheduling, only bookkeeping.
//   - Pods with spec.nodeName (assigned) live in the cache until they finish (Succeeded/Failed) or are deleted;
//     freeing their resources wakes the unschedulable pods.
//   - Pods without spec.nodeName that one of our profiles is responsible for (spec.schedulerName) are queued;
//     updates to a pod the cache has assumed are ignored (its binding is in flight).
//   - Nodes live in the cache; a new node, or a change to what scheduling reads (labels, taints, allocatable,
//     unschedulable, conditions), wakes the unschedulable pods.
import { isPodTerminal } from "../api/pod.js";
import type { Node, Pod } from "../api/types/index.js";
import { unwrapTombstone, type EventHandler } from "../client/informer.js";
import type { SchedulerCache } from "./cache.js";
import type { SchedulingQueue } from "./scheduling-queue.js";

export interface EventHandlerDeps {
  cache: SchedulerCache;
  queue: SchedulingQueue;
  /** Whether a profile of ours schedules this pod (its spec.schedulerName). */
  responsibleFor: (pod: Readonly<Pod>) => boolean;
}

const assigned = (pod: Readonly<Pod>): boolean => Boolean(pod.spec?.nodeName);

export function podEventHandler({ cache, queue, responsibleFor }: EventHandlerDeps): EventHandler<Pod> {
  return {
    onAdd(pod) {
      if (assigned(pod)) {
        if (!isPodTerminal(pod)) cache.addPod(pod);
      } else if (responsibleFor(pod) && !pod.metadata.deletionTimestamp) {
        queue.add(pod);
      }
    },
    onUpdate(oldPod, newPod) {
      if (assigned(newPod)) {
        if (!assigned(oldPod)) queue.delete(newPod);
        if (isPodTerminal(newPod)) {
          cache.removePod(newPod);
          if (!isPodTerminal(oldPod)) queue.moveAllToActiveOrBackoffQueue("AssignedPodDelete");
        } else {
          cache.updatePod(oldPod, newPod);
        }
        return;
      }
      if (!responsibleFor(newPod) || cache.isAssumed(newPod)) return;
      queue.update(oldPod, newPod);
    },
    onDelete(obj) {
      const pod = unwrapTombstone(obj);
      queue.delete(pod);
      // Also drops a pod assumed but deleted before its binding was observed.
      cache.removePod(pod);
      if (assigned(pod) && !isPodTerminal(pod)) queue.moveAllToActiveOrBackoffQueue("AssignedPodDelete");
    },
  };
}

export function nodeEventHandler({ cache, queue }: Omit<EventHandlerDeps, "responsibleFor">): EventHandler<Node> {
  return {
    onAdd(node) {
      cache.addNode(node);
      queue.moveAllToActiveOrBackoffQueue("NodeAdd");
    },
    onUpdate(oldNode, newNode) {
      cache.updateNode(newNode);
      if (oldNode !== newNode && schedulingPropertiesChanged(oldNode, newNode)) queue.moveAllToActiveOrBackoffQueue("NodeUpdate");
    },
    onDelete(obj) {
      cache.removeNode(unwrapTombstone(obj));
    },
  };
}

/** What filters read of a node; heartbeats (condition timestamps) are not a change. */
function schedulingPropertiesChanged(a: Readonly<Node>, b: Readonly<Node>): boolean {
  const view = (n: Readonly<Node>): string =>
    JSON.stringify([
      n.spec?.unschedulable ?? false,
      n.spec?.taints ?? [],
      n.metadata.labels ?? {},
      n.status?.allocatable ?? {},
      (n.status?.conditions ?? []).map((c) => [c.type, c.status]),
    ]);
  return view(a) !== view(b);
}
