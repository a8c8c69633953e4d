// The checks of Kubernetes' Deployment conformance tests (test/e2e/apps/deployment.go: "RollingUpdateDeployment
// should delete old pods and create new ones", "deployment should support rollover", "deployment should support
// proportional scaling") against kubelab's controller-manager, scheduler and hollow nodes, with the same objects,
// numbers and order of steps, images included: the hollow nodes' simulated registry lacks the e2e tests' nonexistent
// images (`gb-redisslave:nonexistent`, `webserver:404`; --missing-images), so those pods stay in ErrImagePull /
// ImagePullBackOff and never become available, as on a real node. Run `npm run build` first.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { Deployment, ReplicaSet } from "../api/types/apps.js";
import type { Pod } from "../api/types/core.js";
import { RestClient } from "../client/rest.js";
import { clientConfigFor, waitFor } from "../test/support/apiserver.js";
import { startHollowCluster, type HollowCluster } from "../test/support/hollow-cluster.js";

const DEPLOYMENTS = RESOURCES.find((r) => r.group === "apps" && r.resource === "deployments")!;
const REPLICASETS = RESOURCES.find((r) => r.group === "apps" && r.resource === "replicasets")!;
const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const REVISION = "deployment.kubernetes.io/revision";
const WEBSERVER = "registry.k8s.io/e2e-test-images/httpd:2.4.38-2";
const AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.40";
const NS = "default";

/** e2edeployment.NewDeployment: one container, selector = template labels. */
function deployment(name: string, replicas: number, labels: Record<string, string>, containerName: string, image: string, strategy: NonNullable<Deployment["spec"]>["strategy"]): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { ...labels } },
      ...(strategy ? { strategy } : {}),
      template: { metadata: { labels: { ...labels } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: containerName, image }] } },
    },
  };
}

/** The e2e test's newRS. */
function replicaSet(name: string, replicas: number, labels: Record<string, string>, containerName: string, image: string, annotations?: Record<string, string>): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, labels: { ...labels }, ...(annotations ? { annotations } : {}) },
    spec: {
      replicas,
      selector: { matchLabels: { ...labels } },
      template: { metadata: { labels: { ...labels } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: containerName, image }] } },
    },
  };
}

describe("Deployment conformance checks on hollow nodes (real processes)", () => {
  let hollow: HollowCluster | undefined;
  let client: RestClient;

  beforeAll(async () => {
    hollow = await startHollowCluster("depconf", { nodes: 2 });
    client = new RestClient(clientConfigFor(hollow.cluster.api), { userAgent: "deployment-conformance" });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await hollow?.destroy();
  });

  const getDeployment = (name: string): Promise<Deployment> => client.get<Deployment>(DEPLOYMENTS, NS, name);
  const getRS = (name: string): Promise<ReplicaSet> => client.get<ReplicaSet>(REPLICASETS, NS, name);
  const replicaSetsOf = async (d: Readonly<Deployment>): Promise<ReplicaSet[]> =>
    (await client.list<ReplicaSet>(REPLICASETS, NS)).items.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid));
  /** testutil.GetNewReplicaSet: the one whose template equals the Deployment's (ignoring the hash label). */
  const newReplicaSetOf = async (d: Readonly<Deployment>): Promise<ReplicaSet | undefined> => {
    const strip = (labels: Record<string, string> | undefined): Record<string, string> => {
      const { "pod-template-hash": _hash, ...rest } = labels ?? {};
      return rest;
    };
    const same = (rs: ReplicaSet): boolean =>
      JSON.stringify({ ...rs.spec?.template, metadata: { ...rs.spec?.template?.metadata, labels: strip(rs.spec?.template?.metadata?.labels) } }.spec) === JSON.stringify(d.spec?.template?.spec)
      && JSON.stringify(strip(rs.spec?.template?.metadata?.labels)) === JSON.stringify(d.spec?.template?.metadata?.labels);
    return (await replicaSetsOf(d)).find(same);
  };
  /** e2edeployment.WaitForDeploymentComplete: observed, all updated, all available, none extra. */
  const waitComplete = (name: string, timeoutMs = 60_000): Promise<Deployment> =>
    waitFor(`deployment ${name} complete`, async () => {
      const d = await getDeployment(name);
      const s = d.status ?? {};
      const want = d.spec?.replicas ?? 1;
      return (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want ? d : undefined;
    }, timeoutMs, 250);
  const waitRevisionAndImage = (name: string, revision: string, image: string): Promise<Deployment> =>
    waitFor(`deployment ${name} at revision ${revision} with ${image}`, async () => {
      const d = await getDeployment(name);
      const rs = await newReplicaSetOf(d);
      return d.metadata.annotations?.[REVISION] === revision && rs?.metadata.annotations?.[REVISION] === revision && d.spec?.template?.spec?.containers[0]?.image === image ? d : undefined;
    }, 60_000, 250);
  const waitRS = (name: string, what: string, ok: (rs: ReplicaSet) => boolean): Promise<ReplicaSet> =>
    waitFor(`replica set ${name}: ${what}`, async () => {
      const rs = await getRS(name);
      return ok(rs) ? rs : undefined;
    }, 60_000, 250);
  const runningPods = async (labelSelector: string): Promise<Pod[]> => (await client.list<Pod>(PODS, NS, { labelSelector })).items.filter((p) => p.status?.phase === "Running");

  it("RollingUpdateDeployment should delete old pods and create new ones (adopting a ReplicaSet at revision 3546343826724305832)", async () => {
    await client.create(REPLICASETS, NS, replicaSet("test-rolling-update-controller", 1, { name: "sample-pod", pod: "httpd" }, "httpd", WEBSERVER, { [REVISION]: "3546343826724305832" }));
    await waitFor("the replica set's pod running", async () => ((await runningPods("name=sample-pod")).length === 1 ? true : undefined), 60_000, 250);

    const created = await client.create(DEPLOYMENTS, NS, deployment("test-rolling-update-deployment", 1, { name: "sample-pod" }, "agnhost", AGNHOST, { type: "RollingUpdate" }));
    await waitRevisionAndImage("test-rolling-update-deployment", "3546343826724305833", AGNHOST);
    const done = await waitComplete("test-rolling-update-deployment");
    const newRS = await newReplicaSetOf(done);
    const old = (await replicaSetsOf(created)).filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
    expect(old.map((rs) => rs.metadata.name)).toEqual(["test-rolling-update-controller"]);
    expect(old[0]!.spec?.replicas).toBe(0);
  }, 120_000);

  it("deployment should support rollover", async () => {
    const rsLabels = { name: "rollover-pod", pod: "httpd" };
    await client.create(REPLICASETS, NS, replicaSet("test-rollover-controller", 1, rsLabels, "httpd", WEBSERVER));
    await waitRS("test-rollover-controller", "ready", (rs) => rs.status?.readyReplicas === 1);

    const stuck = deployment("test-rollover-deployment", 1, { name: "rollover-pod" }, "redis-slave", "gcr.io/google_samples/gb-redisslave:nonexistent", { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    stuck.spec!.minReadySeconds = 10;
    const created = await client.create(DEPLOYMENTS, NS, stuck);
    await waitFor("updatedReplicas >= 1", async () => {
      const d = await getDeployment("test-rollover-deployment");
      return (d.status?.observedGeneration ?? 0) >= (created.metadata.generation ?? 0) && (d.status?.updatedReplicas ?? 0) >= 1 ? d : undefined;
    }, 60_000, 250);
    const atOne = await waitRevisionAndImage("test-rollover-deployment", "1", "gcr.io/google_samples/gb-redisslave:nonexistent");
    // ensureReplicas(rs, 1): spec and status both 1, for the adopted and the new ReplicaSet.
    const oldRS = await waitRS("test-rollover-controller", "1 replica", (rs) => rs.spec?.replicas === 1 && rs.status?.replicas === 1);
    expect(oldRS.metadata.ownerReferences?.[0]?.uid).toBe(created.metadata.uid);
    const stuckRS = (await newReplicaSetOf(atOne))!;
    await waitRS(stuckRS.metadata.name ?? "", "1 replica", (rs) => rs.spec?.replicas === 1 && rs.status?.replicas === 1);

    const latest = await getDeployment("test-rollover-deployment");
    latest.spec!.template!.spec!.containers = [{ name: "agnhost", image: AGNHOST }];
    const updated = await client.update<Deployment>(DEPLOYMENTS, NS, latest);
    await waitFor("observed", async () => ((await getDeployment("test-rollover-deployment")).status?.observedGeneration ?? 0) >= (updated.metadata.generation ?? 0) || undefined, 30_000, 250);
    await waitRevisionAndImage("test-rollover-deployment", "2", AGNHOST);
    await waitComplete("test-rollover-deployment");
    for (const name of ["test-rollover-controller", stuckRS.metadata.name ?? ""]) await waitRS(name, "0 replicas", (rs) => rs.spec?.replicas === 0 && (rs.status?.replicas ?? 0) === 0);
  }, 120_000);

  it("deployment should support proportional scaling (8/5 of 10 with a blocked rollout, then 20/13 of 30)", async () => {
    const labels = { name: "httpd" };
    const d = deployment("webserver-deployment", 10, labels, "httpd", WEBSERVER, { type: "RollingUpdate", rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } });
    const created = await client.create(DEPLOYMENTS, NS, d);
    const complete = await waitComplete("webserver-deployment", 90_000);
    const firstRS = (await newReplicaSetOf(complete))!;

    const latest = await getDeployment("webserver-deployment");
    latest.spec!.template!.spec!.containers[0]!.image = "webserver:404";
    await client.update(DEPLOYMENTS, NS, latest);
    const first = await waitRS(firstRS.metadata.name ?? "", "8 available of 8", (rs) => rs.status?.availableReplicas === 8 && rs.spec?.replicas === 8 && rs.status.replicas === 8);
    expect(first.metadata.annotations).toMatchObject({ "deployment.kubernetes.io/desired-replicas": "10", "deployment.kubernetes.io/max-replicas": "13" });
    const blocked = await getDeployment("webserver-deployment");
    const secondRS = (await newReplicaSetOf(blocked))!;
    const second = await waitRS(secondRS.metadata.name ?? "", "5 replicas", (rs) => rs.spec?.replicas === 5 && rs.status?.replicas === 5);
    expect(second.status?.availableReplicas ?? 0).toBe(0);
    const blockedPods = (await client.list<Pod>(PODS, NS, { labelSelector: "name=httpd" })).items.filter((p) => p.spec?.containers[0]?.image === "webserver:404");
    expect(blockedPods).toHaveLength(5);
    await waitFor("the blocked pods waiting on their image", async () => {
      const pods = (await client.list<Pod>(PODS, NS, { labelSelector: "name=httpd" })).items.filter((p) => p.spec?.containers[0]?.image === "webserver:404");
      return pods.every((p) => ["ErrImagePull", "ImagePullBackOff"].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? "")) || undefined;
    }, 30_000, 250);
    expect((await getDeployment("webserver-deployment")).status?.availableReplicas ?? 0).toBeGreaterThanOrEqual(8);

    const toScale = await getDeployment("webserver-deployment");
    toScale.spec!.replicas = 30;
    await client.update(DEPLOYMENTS, NS, toScale);
    // 8 + round(20 * 8/13) = 20 and 5 + 8 = 13; both now record the size they were scaled for.
    const firstAfter = await waitRS(firstRS.metadata.name ?? "", "20 replicas", (rs) => rs.spec?.replicas === 20);
    const secondAfter = await waitRS(secondRS.metadata.name ?? "", "13 replicas", (rs) => rs.spec?.replicas === 13);
    for (const rs of [firstAfter, secondAfter]) expect(rs.metadata.annotations).toMatchObject({ "deployment.kubernetes.io/desired-replicas": "30", "deployment.kubernetes.io/max-replicas": "33" });
    expect(created.metadata.uid).toBe(firstAfter.metadata.ownerReferences?.[0]?.uid);
  }, 180_000);
  it("should run the lifecycle of a Deployment (create, patch, unconditional update, status patch, delete collection)", async () => {
    const labels = { "test-deployment-static": "true" };
    const waitStatus = (what: string, ok: (d: Deployment) => boolean): Promise<Deployment> =>
      waitFor(`test-deployment ${what}`, async () => {
        const d = await getDeployment("test-deployment");
        return ok(d) ? d : undefined;
      }, 30_000, 250);
    const original = deployment("test-deployment", 2, labels, "test-deployment", AGNHOST, { type: "RollingUpdate" });
    original.metadata.labels = { ...labels };
    await client.create(DEPLOYMENTS, NS, original);
    await waitStatus("2 ready", (d) => d.status?.readyReplicas === 2);

    // The e2e test's patch, with its misspelt TerminationGracePeriodSeconds (an unknown field, dropped).
    await client.patch(DEPLOYMENTS, NS, "test-deployment", "strategic", {
      metadata: { labels: { "test-deployment": "patched" } },
      spec: { replicas: 1, template: { spec: { TerminationGracePeriodSeconds: 1, containers: [{ name: "test-deployment", image: "registry.k8s.io/pause:3.9" }] } } },
    });
    await waitStatus("1 ready and updated with pause", (d) => d.status?.readyReplicas === 1 && d.status.availableReplicas === 1 && d.status.updatedReplicas === 1
      && (d.status.unavailableReplicas ?? 0) === 0 && d.spec?.template?.spec?.containers[0]?.image === "registry.k8s.io/pause:3.9");

    // An update of the object as first created: no resourceVersion, so unconditional.
    const update = structuredClone(original);
    update.metadata.labels = { ...labels, "test-deployment": "updated" };
    update.spec!.template!.spec!.containers[0]!.image = WEBSERVER;
    update.spec!.replicas = 2;
    await client.update(DEPLOYMENTS, NS, update);
    const updated = await waitStatus("2 ready and updated with httpd", (d) => d.status?.readyReplicas === 2 && d.status.availableReplicas === 2 && d.status.updatedReplicas === 2 && (d.status.unavailableReplicas ?? 0) === 0);
    expect(updated.spec?.template?.spec?.containers[0]?.image).toBe(WEBSERVER);
    expect(updated.metadata.labels?.["test-deployment"]).toBe("updated");

    // A status patch: its label change is ignored, and the controller puts readyReplicas back.
    await client.patch(DEPLOYMENTS, NS, "test-deployment", "strategic", { metadata: { labels: { "test-deployment": "patched-status" } }, status: { readyReplicas: 0 } }, { subresource: "status" });
    const afterStatus = await client.get<Deployment>(DEPLOYMENTS, NS, "test-deployment", { subresource: "status" });
    expect(afterStatus.metadata.labels?.["test-deployment"]).toBe("updated");
    expect(afterStatus.spec?.template?.spec?.containers[0]?.image).toBe(WEBSERVER);
    await waitStatus("2 ready again", (d) => d.status?.readyReplicas === 2 && d.status.updatedReplicas === 2 && (d.status.unavailableReplicas ?? 0) === 0);

    await client.deleteCollection(DEPLOYMENTS, NS, { labelSelector: "test-deployment-static=true", gracePeriodSeconds: 1 });
    await waitFor("test-deployment deleted", async () => ((await client.list<Deployment>(DEPLOYMENTS, NS, { labelSelector: "test-deployment-static=true" })).items.length === 0 ? true : undefined), 30_000, 250);
  }, 120_000);
});
