import { describe, expect, it } from "vitest";
import { findResource } from "../../../api/resources.js";
import type { ControllerRevision } from "../../../api/types/admissionregistration.js";
import type { DaemonSet } from "../../../api/types/apps.js";
import type { Node, Pod } from "../../../api/types/core.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeInformer } from "../../../client/testing/fake-informer.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { CONTROLLER_REVISIONS } from "../history/history.js";
import { DAEMONSETS, DaemonSetController } from "./daemonset-controller.js";

const PODS = findResource("", "v1", "pods")!;
const NODES = findResource("", "v1", "nodes")!;
const KEY = "default/agent";

const node = (name: string): Node => ({ apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name } } });

function setup() {
  const clock = new FakeClock(Date.UTC(2024, 0, 1));
  const client = new FakeClient({ clock });
  const informer = new FakeInformer<DaemonSet>(DAEMONSETS);
  const podInformer = new FakeInformer<Pod>(PODS);
  const nodeInformer = new FakeInformer<Node>(NODES);
  const revisionInformer = new FakeInformer<ControllerRevision>(CONTROLLER_REVISIONS);
  const recorder = new FakeRecorder();
  const controller = new DaemonSetController({ client, informer, podInformer, nodeInformer, revisionInformer, recorder, clock });
  const ds: DaemonSet = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "default", uid: "ds-uid", generation: 1 },
    spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "agent", image: "a:1" }] } } },
  };
  informer.set(client.seed(ds));
  for (const n of [node("n0"), node("n1")]) nodeInformer.set(client.seed(n));
  return { client, controller, recorder, podInformer, revisionInformer };
}

describe("DaemonSetController", () => {
  it("creates one pod per node, a revision, events and status, and waits for its creations to be observed", async () => {
    const t = setup();
    await t.controller.sync(KEY);
    const created = t.client.created<Pod>("pods");
    expect(created.map((p) => p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.[0]?.values?.[0]).sort()).toEqual(["n0", "n1"]);
    const revisions = t.client.created<ControllerRevision>("controllerrevisions");
    expect(revisions).toHaveLength(1);
    expect(created[0]?.metadata.labels?.["controller-revision-hash"]).toBe(revisions[0]?.metadata.labels?.["controller-revision-hash"]);
    expect(t.recorder.events.filter((e) => e.reason === "SuccessfulCreate")).toHaveLength(2);
    const status = (t.client.tracker.list(DAEMONSETS, "default")[0] as DaemonSet).status;
    expect(status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 0, numberReady: 0, numberUnavailable: 2, observedGeneration: 1 });
    // The informer has not shown the pods yet: no second round of creates.
    for (const r of t.client.tracker.list(CONTROLLER_REVISIONS, "default") as ControllerRevision[]) t.revisionInformer.set(r);
    await t.controller.sync(KEY);
    expect(t.client.created("pods")).toHaveLength(2);
    expect(t.controller.expectations.get(KEY)).toEqual({ add: 2, del: 0 });
  });
});
