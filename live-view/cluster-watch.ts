// Keeps the live view's rows current from the informers' events: each handler recomputes the rows the object shows
// in and sets them; ClusterState drops the ones that did not change. The informers are the same list-and-watch any
// client uses, so the view is only as fresh as the apiserver's watch.
import { objectKey } from "../api/meta.js";
import type { Deployment, ReplicaSet } from "../api/types/apps.js";
import type { CoreEvent, Endpoints, Node, Pod, Service } from "../api/types/core.js";
import { unwrapTombstone, type DeletedFinalStateUnknown, type EventHandler, type Informer } from "../client/informer.js";
import type { ClusterState } from "./cluster-state.js";
import { deploymentRow, eventRow, nodeRow, podRow, serviceRow } from "./rows.js";
import type { PodStartTracker } from "./samples.js";

export interface ClusterInformers {
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  deployments: Informer<Deployment>;
  replicaSets: Informer<ReplicaSet>;
  services: Informer<Service>;
  endpoints: Informer<Endpoints>;
  events: Informer<CoreEvent>;
}

export interface ClusterWatchOptions {
  state: ClusterState;
  starts: PodStartTracker;
  /** The newest events kept (the timeline's length). */
  maxEvents?: number;
  now?: () => number;
}

/** Registers the handlers; returns a function that removes them. */
export function watchCluster(informers: ClusterInformers, opts: ClusterWatchOptions): () => void {
  const { state, starts } = opts;
  const now = opts.now ?? Date.now;
  const maxEvents = opts.maxEvents ?? 200;
  const replicaSet = (namespace: string, name: string): Readonly<ReplicaSet> | undefined => informers.replicaSets.lister.getByName(namespace, name);

  const setPod = (pod: Readonly<Pod>): void => {
    const row = podRow(pod, replicaSet);
    state.set("pods", objectKey(pod.metadata), row);
    starts.observed(objectKey(pod.metadata), row.ready, now());
  };
  const setService = (key: string): void => {
    const service = informers.services.lister.get(key);
    state.set("services", key, service === undefined ? undefined : serviceRow(service, informers.endpoints.lister.get(key)));
  };

  const registrations = [
    informers.pods.addEventHandler(
      handler<Pod>({
        add: (pod, initial) => {
          if (!initial) starts.appeared(objectKey(pod.metadata), now());
          setPod(pod);
        },
        remove: (pod) => {
          state.set("pods", objectKey(pod.metadata), undefined);
          starts.forget(objectKey(pod.metadata));
        },
        update: setPod,
      }),
    ),
    informers.nodes.addEventHandler(
      handler<Node>({
        update: (node) => state.set("nodes", node.metadata.name ?? "", nodeRow(node)),
        remove: (node) => state.set("nodes", node.metadata.name ?? "", undefined),
      }),
    ),
    informers.deployments.addEventHandler(
      handler<Deployment>({
        update: (d) => state.set("deployments", objectKey(d.metadata), deploymentRow(d)),
        remove: (d) => state.set("deployments", objectKey(d.metadata), undefined),
      }),
    ),
    // A pod's owner names the Deployment above its ReplicaSet: pods seen before their ReplicaSet are named again.
    informers.replicaSets.addEventHandler(
      handler<ReplicaSet>({
        update: (rs) => {
          for (const pod of informers.pods.lister.listNamespace(rs.metadata.namespace ?? "")) {
            if (pod.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid)) setPod(pod);
          }
        },
        remove: () => undefined,
      }),
    ),
    informers.services.addEventHandler(handler<Service>({ update: (s) => { setService(objectKey(s.metadata)); }, remove: (s) => { state.set("services", objectKey(s.metadata), undefined); } })),
    informers.endpoints.addEventHandler(handler<Endpoints>({ update: (e) => { setService(objectKey(e.metadata)); }, remove: (e) => { setService(objectKey(e.metadata)); } })),
    informers.events.addEventHandler(
      handler<CoreEvent>({
        update: (event) => {
          state.set("events", event.metadata.uid ?? objectKey(event.metadata), eventRow(event));
          state.trim("events", maxEvents, (row) => row.time);
        },
        remove: (event) => state.set("events", event.metadata.uid ?? objectKey(event.metadata), undefined),
      }),
    ),
  ];
  return () => {
    for (const r of registrations) r.remove();
  };
}

/** An informer handler from an upsert (add and update alike, unless `add` is given) and a remove. */
function handler<T>(fns: { add?: (obj: Readonly<T>, initial: boolean) => void; update: (obj: Readonly<T>) => void; remove: (obj: Readonly<T>) => void }): EventHandler<T> {
  return {
    onAdd: (obj, initial) => {
      if (fns.add) fns.add(obj, initial);
      else fns.update(obj);
    },
    onUpdate: (_old, obj) => {
      fns.update(obj);
    },
    onDelete: (obj: Readonly<T> | DeletedFinalStateUnknown<T>) => {
      fns.remove(unwrapTombstone(obj));
    },
  };
}
