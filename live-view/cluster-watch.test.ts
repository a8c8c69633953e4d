import { describe, expect, it } from "vitest";
import { findResource } from "../api/resources.js";
import { newDeployment, newNode, newPod, newReplicaSet, newService } from "../api/testing/builders.js";
import type { Deployment, ReplicaSet } from "../api/types/apps.js";
import type { CoreEvent, Endpoints, Node, Pod, Service } from "../api/types/core.js";
import { FakeInformer } from "../client/testing/fake-informer.js";
import { ClusterState } from "./cluster-state.js";
import { watchCluster } from "./cluster-watch.js";
import { PodStartTracker } from "./samples.js";

function fakes() {
  const r = (group: string, plural: string) => findResource(group, "v1", plural)!;
  return {
    pods: new FakeInformer<Pod>(r("", "pods")),
    nodes: new FakeInformer<Node>(r("", "nodes")),
    deployments: new FakeInformer<Deployment>(r("apps", "deployments")),
    replicaSets: new FakeInformer<ReplicaSet>(r("apps", "replicasets")),
    services: new FakeInformer<Service>(r("", "services")),
    endpoints: new FakeInformer<Endpoints>(r("", "endpoints")),
    events: new FakeInformer<CoreEvent>(r("", "events")),
  };
}

function owned(pod: Pod, rs: ReplicaSet): Pod {
  pod.metadata.ownerReferences = [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true }];
  return pod;
}

function setup(now = { ms: 0 }) {
  const informers = fakes();
  const state = new ClusterState({ now: () => now.ms });
  const starts = new PodStartTracker();
  const stop = watchCluster(informers, { state, starts, now: () => now.ms, maxEvents: 2 });
  return { informers, state, starts, stop, now };
}

describe("watchCluster", () => {
  it("sends a pod's row when it appears, changes visibly, and goes; a status write that changes nothing visible is no change", () => {
    const { informers, state } = setup();
    const pod = newPod("web-1", { nodeName: "node-1", phase: "Pending" });
    informers.pods.add(pod);
    expect(state.takeChanges().map((c) => [c.collection, c.key, c.row && "phase" in c.row ? c.row.phase : undefined])).toEqual([["pods", "default/web-1", "Pending"]]);
    informers.pods.update({ ...pod, metadata: { ...pod.metadata, annotations: { touched: "yes" } } });
    expect(state.takeChanges()).toEqual([]);
    informers.pods.update(newPod("web-1", { nodeName: "node-1", ready: true, podIP: "10.244.1.5" }));
    const [running] = state.takeChanges();
    expect(running?.row).toMatchObject({ phase: "Running", ready: true, ip: "10.244.1.5", node: "node-1" });
    informers.pods.delete(pod, { tombstone: true });
    expect(state.takeChanges()).toMatchObject([{ collection: "pods", key: "default/web-1" }]);
    expect(state.get("pods", "default/web-1")).toBeUndefined();
  });

  it("names a ReplicaSet's pods after its Deployment, also when the ReplicaSet arrives after the pods", () => {
    const { informers, state } = setup();
    const rs = newReplicaSet("web-5d8c7", { meta: { uid: "rs-uid", ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true }] } });
    informers.pods.add(owned(newPod("web-5d8c7-abcde"), rs));
    expect(state.get("pods", "default/web-5d8c7-abcde")?.owner).toBe("ReplicaSet/web-5d8c7");
    informers.replicaSets.add(rs);
    expect(state.get("pods", "default/web-5d8c7-abcde")?.owner).toBe("Deployment/web");
  });

  it("keeps a Service's row with its Endpoints' ready and not-ready addresses", () => {
    const { informers, state } = setup();
    informers.services.add(newService("web", { clusterIP: "10.96.0.20", ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] }));
    expect(state.get("services", "default/web")).toMatchObject({ clusterIp: "10.96.0.20", ports: ["80/TCP→8080"], ready: [], notReady: [] });
    informers.endpoints.add({
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "default" },
      subsets: [{ addresses: [{ ip: "10.244.1.5", targetRef: { kind: "Pod", name: "web-1" } }], notReadyAddresses: [{ ip: "10.244.2.6" }], ports: [{ port: 8080 }] }],
    });
    expect(state.get("services", "default/web")).toMatchObject({ ready: ["10.244.1.5 (web-1)"], notReady: ["10.244.2.6"] });
  });

  it("shows nodes and deployments as kubectl would", () => {
    const { informers, state } = setup();
    informers.nodes.add(newNode("node-1", { unschedulable: true, internalIP: "172.30.0.11", podCIDR: "10.244.1.0/24" }));
    expect(state.get("nodes", "node-1")).toMatchObject({ ready: "True", unschedulable: true, ip: "172.30.0.11", podCidr: "10.244.1.0/24" });
    const d = newDeployment("web", { replicas: 3 });
    d.status = { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1, conditions: [{ type: "Progressing", status: "True", reason: "ReplicaSetUpdated" }] };
    d.metadata.generation = 1;
    informers.deployments.add(d);
    expect(state.get("deployments", "default/web")).toEqual({ namespace: "default", name: "web", desired: 3, updated: 3, ready: 2, available: 2, progress: "ReplicaSetUpdated", observed: true });
  });

  it("keeps only the newest events", () => {
    const { informers, state } = setup();
    for (const [uid, time] of [["a", "2026-01-01T00:00:01Z"], ["b", "2026-01-01T00:00:03Z"], ["c", "2026-01-01T00:00:02Z"]] as const) {
      informers.events.add({ apiVersion: "v1", kind: "Event", metadata: { name: uid, namespace: "default", uid }, involvedObject: { kind: "Pod", name: "p" }, reason: "Started", lastTimestamp: time });
    }
    expect(state.keys("events").sort()).toEqual(["b", "c"]);
  });

  it("measures a new pod's start from its first sighting to Ready, but not the pods of the initial list", () => {
    const now = { ms: 1_000 };
    const { informers, starts } = setup(now);
    informers.pods.add(newPod("fresh", { phase: "Pending" }));
    now.ms = 1_750;
    informers.pods.update(newPod("fresh", { ready: true }));
    now.ms = 1_900;
    informers.pods.update(newPod("fresh", { ready: true, podIP: "10.0.0.1" }));
    expect(starts.take()).toEqual([750]);
  });

  it("stops updating rows once its handlers are removed", () => {
    const { informers, state, stop } = setup();
    stop();
    informers.pods.add(newPod("late"));
    expect(state.size("pods")).toBe(0);
  });
});
