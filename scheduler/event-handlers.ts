// Informer handlers (k8s pkg/scheduler/eventhandlers.go): route every pod and node change to the cache or the
// queue. Handlers do no API calls and no scheduling, only bookkeeping.
//   - Pods with spec.nodeName (assigned) live in the cache until they finish (Succeeded/Failed) or are deleted;
//     their arrival, label changes and departure wake the unschedulable pods those events may help
//     (queueing-hints.ts).
//   - Pods without spec.nodeName that one of our profiles is responsible for (spec.schedulerName) are queued;
//     updates to a pod the cache has assumed are ignored (its binding is in flight).
//   - Nodes live in the cache; a new node, or a change to what scheduling reads (labels, taints, allocatable,
//     unschedulable, conditions), wakes the unschedulable pods that change may help.
import { isPodTerminal } from "../api/pod.js";
import type { Node, Pod } from "../api/types/index.js";
import { unwrapTombstone, type EventHandler } from "../client/informer.js";
import type { SchedulerCache } from "./cache.js";
import type { ClusterEvent } from "./queueing-hints.js";
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
        if (!isPodTerminal(pod)) {
          cache.addPod(pod);
          queue.moveAllToActiveOrBackoffQueue("AssignedPodAdd");
        }
      } else if (responsibleFor(pod) && !pod.metadata.deletionTimestamp) {
        queue.add(pod);
      }
    },
    onUpdate(oldPod, newPod) {
      if (assigned(newPod)) {
        const justBound = !assigned(oldPod);
        if (justBound) queue.delete(newPod);
        if (isPodTerminal(newPod)) {
          cache.removePod(newPod);
          if (!isPodTerminal(oldPod)) queue.moveAllToActiveOrBackoffQueue("AssignedPodDelete");
        } else {
          cache.updatePod(oldPod, newPod);
          if (justBound) queue.moveAllToActiveOrBackoffQueue("AssignedPodAdd");
          else if (oldPod.metadata.labels !== newPod.metadata.labels && JSON.stringify(oldPod.metadata.labels ?? {}) !== JSON.stringify(newPod.metadata.labels ?? {})) {
            queue.moveAllToActiveOrBackoffQueue("AssignedPodUpdate");
          }
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
      if (oldNode === newNode) return;
      for (const event of nodeChanges(oldNode, newNode)) queue.moveAllToActiveOrBackoffQueue(event);
    },
    onDelete(obj) {
      cache.removeNode(unwrapTombstone(obj));
    },
  };
}

/**
 * Claims, volumes, storage classes and CSINodes are not cached (plugins read the informers); their changes only wake
 * the unschedulable pods VolumeBinding rejected. Resyncs (the same object again) are no change.
 */
export function storageEventHandler<T>(queue: SchedulingQueue, add: ClusterEvent, update: ClusterEvent): EventHandler<T> {
  return {
    onAdd() {
      queue.moveAllToActiveOrBackoffQueue(add);
    },
    onUpdate(oldObj, newObj) {
      if (oldObj !== newObj) queue.moveAllToActiveOrBackoffQueue(update);
    },
    // A deletion frees nothing a waiting pod could use.
    onDelete: () => undefined,
  };
}

/** What changed of what filters read of a node (heartbeats, condition timestamps, are no change). */
export function nodeChanges(a: Readonly<Node>, b: Readonly<Node>): ClusterEvent[] {
  const same = (x: unknown, y: unknown): boolean => JSON.stringify(x) === JSON.stringify(y);
  const events: ClusterEvent[] = [];
  if ((a.spec?.unschedulable ?? false) !== (b.spec?.unschedulable ?? false)) events.push("NodeSpecUnschedulableChange");
  if (!same(a.spec?.taints ?? [], b.spec?.taints ?? [])) events.push("NodeTaintChange");
  if (!same(a.metadata.labels ?? {}, b.metadata.labels ?? {})) events.push("NodeLabelChange");
  if (!same(a.status?.allocatable ?? {}, b.status?.allocatable ?? {})) events.push("NodeAllocatableChange");
  const conditions = (n: Readonly<Node>): string[][] => (n.status?.conditions ?? []).map((c) => [c.type, c.status]);
  if (!same(conditions(a), conditions(b))) events.push("NodeConditionChange");
  return events;
}
