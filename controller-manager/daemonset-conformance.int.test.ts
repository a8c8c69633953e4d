// The checks of Kubernetes' DaemonSet conformance tests (test/e2e/apps/daemon_set.go: "should update pod when spec
// was updated and update strategy is RollingUpdate", "should rollback without unnecessary restarts") against
// kubelab's controller-manager, scheduler and two hollow nodes. The hollow nodes' simulated registry lacks the e2e
// test's nonexistent image ("foo:non-existent", --missing-images): its pod stays in ErrImagePull / ImagePullBackOff
// and never becomes available, which stalls the rollout after one node as on a real node. Run `npm run build` first.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { ControllerRevision } from "../api/types/admissionregistration.js";
import type { DaemonSet } from "../api/types/apps.js";
import type { Node, Pod } from "../api/types/core.js";
import { isConflict } from "../api/errors.js";
import { isPodReady } from "../api/pod.js";
import { RestClient } from "../client/rest.js";
import { clientConfigFor, waitFor } from "../test/support/apiserver.js";
import { startHollowCluster, type HollowCluster } from "../test/support/hollow-cluster.js";

const DAEMONSETS = RESOURCES.find((r) => r.group === "apps" && r.resource === "daemonsets")!;
const REVISIONS = RESOURCES.find((r) => r.group === "apps" && r.resource === "controllerrevisions")!;
const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const HASH_LABEL = "controller-revision-hash";
const IMAGE = "registry.k8s.io/e2e-test-images/httpd:2.4.38-2";
const AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.40";
const NS = "default";

/** The e2e test's newDaemonSet: one container "app" on port 9376, RollingUpdate. */
function daemonSet(name: string, label: Record<string, string>): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name },
    spec: {
      selector: { matchLabels: { ...label } },
      updateStrategy: { type: "RollingUpdate" },
      template: { metadata: { labels: { ...label } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "app", image: IMAGE, ports: [{ containerPort: 9376 }] }] } },
    },
  };
}

describe("DaemonSet conformance checks on hollow nodes (real processes)", () => {
  let hollow: HollowCluster | undefined;
  let client: RestClient;
  let nodeNames: string[] = [];

  beforeAll(async () => {
    hollow = await startHollowCluster("dsconf", { nodes: 2 });
    client = new RestClient(clientConfigFor(hollow.cluster.api), { userAgent: "daemonset-conformance" });
    nodeNames = (await client.list<Node>(NODES, undefined)).items.map((n) => n.metadata.name ?? "").sort();
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await hollow?.destroy();
  });

  const podsOf = async (label: Record<string, string>): Promise<Pod[]> =>
    (await client.list<Pod>(PODS, NS, { labelSelector: Object.entries(label).map(([k, v]) => `${k}=${v}`).join(",") })).items;
  /** checkRunningOnAllNodes: one running, ready daemon pod on every node. */
  const waitRunningOnAllNodes = (label: Record<string, string>): Promise<Pod[]> =>
    waitFor("daemon pods on every node", async () => {
      const pods = (await podsOf(label)).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === "Running" && isPodReady(p));
      const nodes = pods.map((p) => p.spec?.nodeName ?? "").sort();
      return JSON.stringify(nodes) === JSON.stringify(nodeNames) ? pods : undefined;
    }, 60_000, 250);
  /** checkDaemonPodsImageAndAvailability with maxUnavailable 1: every node has a pod with `image`, at most one unavailable. */
  const waitImageAndAvailability = (label: Record<string, string>, image: string): Promise<Pod[]> =>
    waitFor(`daemon pods with ${image} on every node`, async () => {
      const pods = (await podsOf(label)).filter((p) => !p.metadata.deletionTimestamp);
      const unavailable = pods.filter((p) => !isPodReady(p)).length;
      if (unavailable > 1) throw new Error(`number of unavailable pods: ${unavailable} is greater than maxUnavailable: 1`);
      const updated = new Set(pods.filter((p) => p.spec?.containers[0]?.image === image).map((p) => p.spec?.nodeName));
      return nodeNames.every((n) => updated.has(n)) ? pods : undefined;
    }, 90_000, 250);
  const histories = async (label: Record<string, string>): Promise<ControllerRevision[]> =>
    (await client.list<ControllerRevision>(REVISIONS, NS, { labelSelector: Object.entries(label).map(([k, v]) => `${k}=${v}`).join(",") })).items;

  it("should update pod when spec was updated and update strategy is RollingUpdate", async () => {
    const label = { "daemonset-name": "daemon-set-update" };
    await client.create(DAEMONSETS, NS, daemonSet("daemon-set-update", label));
    await waitRunningOnAllNodes(label);
    const first = await waitFor("1 history", async () => {
      const h = await histories(label);
      return h.length === 1 ? h : undefined;
    }, 30_000, 250);
    expect(first[0]!.revision).toBe(1);
    const hash1 = first[0]!.metadata.labels?.[HASH_LABEL] ?? "";
    expect(hash1).not.toBe("");
    for (const pod of await podsOf(label)) if (!pod.metadata.deletionTimestamp) expect(pod.metadata.labels?.[HASH_LABEL]).toBe(hash1);

    await client.patch(DAEMONSETS, NS, "daemon-set-update", "strategic", { spec: { template: { spec: { containers: [{ name: "app", image: AGNHOST }] } } } });
    await waitImageAndAvailability(label, AGNHOST);
    await waitRunningOnAllNodes(label);
    const second = await waitFor("2 histories", async () => {
      const h = await histories(label);
      return h.length === 2 ? h : undefined;
    }, 30_000, 250);
    const current = second.filter((h) => h.revision === 2);
    expect(current).toHaveLength(1);
    const hash2 = current[0]!.metadata.labels?.[HASH_LABEL] ?? "";
    expect(hash2).not.toBe(hash1);
    for (const pod of await podsOf(label)) if (!pod.metadata.deletionTimestamp) expect(pod.metadata.labels?.[HASH_LABEL]).toBe(hash2);
  }, 180_000);

  /** e2e's UpdateDaemonSetWithRetries: get, change, update, again on a conflict (the controller writes the status meanwhile). */
  const updateWithRetries = async (name: string, change: (ds: DaemonSet) => void): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const ds = await client.get<DaemonSet>(DAEMONSETS, NS, name);
      change(ds);
      try {
        await client.update(DAEMONSETS, NS, ds);
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  };

  it("should rollback without unnecessary restarts", async () => {
    const label = { "daemonset-name": "daemon-set-rollback" };
    const created = await client.create(DAEMONSETS, NS, daemonSet("daemon-set-rollback", label));
    await waitRunningOnAllNodes(label);

    await updateWithRetries("daemon-set-rollback", (ds) => {
      ds.spec!.template!.spec!.containers[0]!.image = "foo:non-existent";
    });
    // In the middle of the rollout: one node has the new pod, the other still the old one.
    const during = await waitFor("at least one new pod", async () => {
      const pods = (await podsOf(label)).filter((p) => !p.metadata.deletionTimestamp);
      return pods.some((p) => p.spec?.containers[0]?.image === "foo:non-existent") ? pods : undefined;
    }, 60_000, 250);
    const existing = during.filter((p) => p.spec?.containers[0]?.image === IMAGE);
    expect(during.every((p) => [IMAGE, "foo:non-existent"].includes(p.spec?.containers[0]?.image ?? ""))).toBe(true);
    expect(existing.length).toBeGreaterThan(0);

    await updateWithRetries("daemon-set-rollback", (ds) => {
      ds.spec!.template = structuredClone(created.spec!.template!);
    });
    const after = await waitImageAndAvailability(label, IMAGE);
    // The pods that never left the old template were not restarted.
    const names = new Set(after.map((p) => p.metadata.name));
    for (const pod of existing) expect(names.has(pod.metadata.name), `pod ${pod.metadata.name ?? ""} was restarted`).toBe(true);
  }, 180_000);
});
