// Images the hollow nodes' simulated registry lacks (--missing-images), with real processes: an apiserver on etcd,
// the controller-manager, the scheduler and `kubelab hollow-nodes` (the built dist/; run `npm run build` first).
// A Deployment updated to a missing image keeps its old pods available while the new ones go ErrImagePull, then
// ImagePullBackOff, with the kubelet's events and `kubectl describe` as on a real node; a rollback completes it; a
// bare pod runs once its image is changed to one that exists.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Deployment, ReplicaSet } from "../../api/types/apps.js";
import type { CoreEvent, Pod } from "../../api/types/core.js";
import { RestClient } from "../../client/rest.js";
import { clientConfigFor, waitFor } from "../../test/support/apiserver.js";
import { startHollowCluster, type HollowCluster } from "../../test/support/hollow-cluster.js";

const DEPLOYMENTS = RESOURCES.find((r) => r.group === "apps" && r.resource === "deployments")!;
const REPLICASETS = RESOURCES.find((r) => r.group === "apps" && r.resource === "replicasets")!;
const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const EVENTS = RESOURCES.find((r) => r.group === "" && r.resource === "events")!;
const NS = "default";
const WEBSERVER = "registry.k8s.io/e2e-test-images/httpd:2.4.38-2";
/** Missing by this test's --missing-images, not by the default. */
const PRIVATE = "registry.example.com/private/app:1";
const PRIVATE_NOT_FOUND = `rpc error: code = NotFound desc = failed to pull and unpack image "${PRIVATE}": failed to resolve reference "${PRIVATE}": ${PRIVATE}: not found`;

describe("hollow nodes: images the simulated registry lacks (real processes)", () => {
  let hollow: HollowCluster | undefined;
  let client: RestClient;

  beforeAll(async () => {
    hollow = await startHollowCluster("missimg", { nodes: 2, hollowArgs: ["--missing-images", "*:404, registry.example.com/private/*"] });
    client = new RestClient(clientConfigFor(hollow.cluster.api), { userAgent: "missing-images-test" });
  }, 120_000);

  afterAll(async () => {
    client.close();
    await hollow?.destroy();
  });

  const kubectl = async (...args: string[]): Promise<string> => (await hollow!.cluster.kubectl(args)).stdout;
  const podsWith = async (image: string): Promise<Pod[]> =>
    (await client.list<Pod>(PODS, NS, { labelSelector: "app=web" })).items.filter((p) => p.spec?.containers[0]?.image === image && !p.metadata.deletionTimestamp);
  const eventsOf = async (pod: string): Promise<string[]> =>
    (await client.list<CoreEvent>(EVENTS, NS, { fieldSelector: `involvedObject.name=${pod}` })).items.map((e) => `${e.type ?? ""} ${e.reason ?? ""} ${e.message ?? ""}`);

  it("keeps a Deployment's old pods available while the new ones go ErrImagePull, then ImagePullBackOff; a rollback completes it", async () => {
    const deployment: Deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
        template: { metadata: { labels: { app: "web" } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "httpd", image: WEBSERVER }] } },
      },
    };
    await client.create(DEPLOYMENTS, NS, deployment);
    const complete = (d: Deployment) => d.status?.observedGeneration === d.metadata.generation && d.status?.updatedReplicas === 3 && d.status.availableReplicas === 3 && d.status.replicas === 3;
    await waitFor("web available", async () => complete(await client.get<Deployment>(DEPLOYMENTS, NS, "web")) || undefined, 60_000, 250);

    await kubectl("set", "image", "deployment/web", `httpd=${PRIVATE}`);
    // The new ReplicaSet's pods never pull; with maxUnavailable 1 and maxSurge 1 the rollout stops at 2 old + 2 new.
    const stuck = await waitFor("new pods in ImagePullBackOff", async () => {
      const pods = await podsWith(PRIVATE);
      return pods.length === 2 && pods.every((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === "ImagePullBackOff") ? pods : undefined;
    }, 60_000, 250);
    for (const pod of stuck) {
      expect(pod.status?.phase).toBe("Pending");
      expect(pod.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady" });
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({ ready: false, restartCount: 0, image: PRIVATE, imageID: "", state: { waiting: { message: `Back-off pulling image "${PRIVATE}"` } } });
    }
    const name = stuck[0]!.metadata.name ?? "";
    const events = await waitFor("the kubelet's pull events", async () => {
      const seen = await eventsOf(name);
      return seen.some((e) => e.startsWith("Warning Failed Error: ImagePullBackOff")) ? seen : undefined;
    }, 30_000, 250);
    expect(events).toEqual(
      expect.arrayContaining([
        `Normal Pulling Pulling image "${PRIVATE}"`,
        `Warning Failed Failed to pull image "${PRIVATE}": ${PRIVATE_NOT_FOUND}`,
        "Warning Failed Error: ErrImagePull",
        `Normal BackOff Back-off pulling image "${PRIVATE}"`,
        "Warning Failed Error: ImagePullBackOff",
      ]),
    );

    const web = await client.get<Deployment>(DEPLOYMENTS, NS, "web");
    expect(web.status).toMatchObject({ replicas: 4, updatedReplicas: 2, availableReplicas: 2, unavailableReplicas: 2 });
    const old = (await client.list<ReplicaSet>(REPLICASETS, NS, { labelSelector: "app=web" })).items.find((rs) => rs.spec?.template?.spec?.containers[0]?.image === WEBSERVER);
    expect(old?.status).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 2 });

    const describe = await kubectl("describe", "pod", name);
    expect(describe).toMatch(new RegExp(`Image:\\s+${PRIVATE}\\n\\s+Image ID:\\s*\\n`));
    expect(describe).toMatch(/State:\s+Waiting\n\s+Reason:\s+ImagePullBackOff\n\s+Ready:\s+False\n\s+Restart Count:\s+0/);
    expect(describe).toMatch(/Ready\s+False/);
    expect(describe).toMatch(new RegExp(`Warning\\s+Failed\\s+.*kubelet\\s+Failed to pull image "${PRIVATE}": rpc error: code = NotFound desc = failed to pull and unpack image`));
    expect(describe).toMatch(/Warning\s+Failed\s+.*kubelet\s+Error: ErrImagePull/);
    expect(describe).toMatch(new RegExp(`Normal\\s+BackOff\\s+.*kubelet\\s+Back-off pulling image "${PRIVATE}"`));
    expect(describe).toMatch(/Warning\s+Failed\s+.*kubelet\s+Error: ImagePullBackOff/);

    await kubectl("rollout", "undo", "deployment/web");
    await waitFor("web complete after the rollback", async () => {
      const d = await client.get<Deployment>(DEPLOYMENTS, NS, "web");
      return complete(d) && (await podsWith(PRIVATE)).length === 0 ? d : undefined;
    }, 60_000, 250);
  }, 180_000);

  it("runs a pod once its missing image is changed to one that exists; the default patterns are replaced by the flag", async () => {
    const pod = (name: string, image: string): Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "app", image }] } });
    await client.create(PODS, NS, pod("lonely", PRIVATE));
    // "nonexistent" is in the default list only: this cluster's registry has it.
    await client.create(PODS, NS, pod("named-nonexistent", "nginx:nonexistent"));
    const waiting = await waitFor("lonely waiting on its image", async () => {
      const p = await client.get<Pod>(PODS, NS, "lonely");
      const state = p.status?.containerStatuses?.[0]?.state?.waiting;
      return state?.reason === "ErrImagePull" || state?.reason === "ImagePullBackOff" ? state : undefined;
    }, 30_000, 100);
    expect(waiting.message === PRIVATE_NOT_FOUND || waiting.message === `Back-off pulling image "${PRIVATE}"`).toBe(true);

    await kubectl("set", "image", "pod/lonely", `app=${WEBSERVER}`);
    const running = await waitFor("lonely running", async () => {
      const p = await client.get<Pod>(PODS, NS, "lonely");
      return p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.ready ? p : undefined;
    }, 30_000, 250);
    expect(running.status?.containerStatuses?.[0]).toMatchObject({ image: WEBSERVER, restartCount: 0 });
    const other = await waitFor("named-nonexistent running", async () => {
      const p = await client.get<Pod>(PODS, NS, "named-nonexistent");
      return p.status?.phase === "Running" ? p : undefined;
    }, 30_000, 250);
    expect(other.status?.containerStatuses?.[0]?.imageID).toMatch(/^nginx:nonexistent@sha256:/);
  }, 90_000);
});
