// The kubelet as a real process (dist/kubelet/main.js, build first) against a real etcd and apiserver, driving a
// real kubelab-runtime with the fake backend over the CRI: a pod bound to the node runs with an IP from the node's
// podCIDR and Kubernetes' status; an unchanged status costs no write; a restarted kubelet adopts the running
// containers; an unknown image goes ErrImagePull → ImagePullBackOff; a deleted pod is stopped and deleted for good; a
// static pod from --pod-manifest-path runs and shows through a mirror pod that comes back when deleted.
// The test creates the Node first (with its podCIDR, as IPAM would set it), so the kubelet adopts it.
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Node, Pod } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { RestClient } from "../../client/rest.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import { freePort } from "../../lab/process/ports.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startTestCluster, waitFor, type TestCluster, clientConfigFor } from "../support/apiserver.js";
import { kubeletTestComponent } from "../support/kubelet.js";
import { testProcesses } from "../support/processes.js";
import { POD_UID_LABEL } from "../../kubelet/runtime-labels.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const EVENTS = RESOURCES.find((r) => r.group === "" && r.resource === "events")!;
const POD_CIDR = "10.244.77.0/24";

describe("kubelet over kubelab-runtime --backend fake", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const nodeName = `kcore-node-${runId}`;
  let cluster: TestCluster;
  let dir = "";
  let runtime: ManagedProcess | undefined;
  let kubelet: ManagedProcess | undefined;
  let client: RestClient;
  let cri: CriClient;

  const pod = (name: string, image: string, extra: Partial<NonNullable<Pod["spec"]>> = {}): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName, containers: [{ name: "app", image, command: ["sh", "-c", "sleep 3600"] }], terminationGracePeriodSeconds: 5, ...extra },
  });
  const getPod = (name: string): Promise<Pod> => client.get<Pod>(PODS, "default", name);

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = new RestClient(clientConfigFor(cluster.api));
    dir = testProcesses.tempDir("kubelab-kcore-", tmpdir());
    const socket = join(dir, "run", "runtime.sock");
    runtime = (await testProcesses.startReady(containerRuntimeComponent({ name: `container-runtime kcore-${runId}`, socketPath: socket, root: join(dir, "runtime"), backend: "fake" }))).process;
    cri = new CriClient(socket, { timeoutMs: 10_000 });
    await client.create<Node>(NODES, undefined, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: nodeName },
      spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
    });
    const manifests = join(dir, "manifests");
    mkdirSync(manifests);
    writeFileSync(join(manifests, "static-web.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\nspec:\n  containers:\n  - name: web\n    image: nginx:alpine\n");
    const component = kubeletTestComponent({
      name: `kubelet kcore-${runId}`,
      kubeconfig: cluster.kubeconfig,
      nodeName,
      nodeIp: "127.0.0.1",
      runtimeSocket: socket,
      rootDir: join(dir, "kubelet"),
      port: await freePort(),
      healthzPort: await freePort(),
      extraArgs: [`--pod-manifest-path=${manifests}`],
    });
    kubelet = (await testProcesses.startReady(component, { timeoutMs: 30_000 })).process;
  }, 90_000);

  afterAll(async () => {
    cri?.close();
    client?.close();
    if (process.env.KCORE_LOGS) console.log(kubelet?.logs());
    await kubelet?.stop("SIGKILL");
    await runtime?.stop("SIGKILL");
    await cluster?.destroy();
    if (dir !== "") removeDir(dir);
  }, 60_000);

  it("runs a pod bound to the node and reports Kubernetes' status", async () => {
    await client.create(PODS, "default", pod("web", "busybox"));
    const running = await waitFor("web Running and Ready", async () => {
      const p = await getPod("web");
      return p.status?.phase === "Running" && p.status.conditions?.find((c) => c.type === "Ready")?.status === "True" ? p : undefined;
    }, 20_000);
    const s = running.status!;
    expect(s.podIP).toMatch(/^10\.244\.77\.\d+$/);
    expect(s.podIPs).toEqual([{ ip: s.podIP }]);
    expect(s).toMatchObject({ hostIP: "127.0.0.1", hostIPs: [{ ip: "127.0.0.1" }], qosClass: "BestEffort" });
    expect(s.startTime).toBeDefined();
    expect(s.conditions?.map((c) => [c.type, c.status])).toEqual([
      ["PodReadyToStartContainers", "True"],
      ["Initialized", "True"],
      ["Ready", "True"],
      ["ContainersReady", "True"],
      ["PodScheduled", "True"],
    ]);
    const c = s.containerStatuses?.[0];
    expect(c).toMatchObject({ name: "app", ready: true, started: true, restartCount: 0, lastState: {} });
    expect(c?.state?.running?.startedAt).toBeDefined();
    expect(c?.containerID).toMatch(/^kubelab-fake:\/\/[0-9a-f]+$/);
    expect(c?.imageID).not.toBe("");
    const events = await waitFor("Pulled, Created and Started events", async () => {
      const list = await client.list<{ reason?: string; message?: string; metadata: { name?: string }; involvedObject: { name: string; fieldPath?: string }; source?: { component?: string; host?: string } }>(EVENTS, "default");
      const mine = list.items.filter((e) => e.involvedObject.name === "web");
      return ["Pulled", "Created", "Started"].every((r) => mine.some((e) => e.reason === r)) ? mine : undefined;
    });
    expect(events.find((e) => e.reason === "Started")).toMatchObject({ message: "Started container app", involvedObject: { fieldPath: "spec.containers{app}" }, source: { component: "kubelet", host: nodeName } });

    // Level-based: nothing changes, nothing is written.
    const rv = (await getPod("web")).metadata.resourceVersion;
    await new Promise((r) => setTimeout(r, 2500));
    expect((await getPod("web")).metadata.resourceVersion).toBe(rv);
  }, 40_000);

  it("adopts the running containers after a restart of the kubelet", async () => {
    const before = await getPod("web");
    const id = before.status?.containerStatuses?.[0]?.containerID;
    await kubelet!.stop("SIGKILL");
    kubelet!.start();
    await kubelet!.waitReady({ timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 2500));
    const after = await getPod("web");
    expect(after.status?.containerStatuses?.[0]).toMatchObject({ containerID: id, restartCount: 0, ready: true });
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const containers = await cri.listContainers({ labelSelector: { [POD_UID_LABEL]: before.metadata.uid ?? "" } });
    expect(containers.map((c) => c.state)).toEqual(["CONTAINER_RUNNING"]);
  }, 60_000);

  it("reports ErrImagePull, then ImagePullBackOff, for an image that exists nowhere", async () => {
    await client.create(PODS, "default", pod("nowhere", "example.invalid/nothing:here"));
    const seen = new Map<string, string>();
    await waitFor("ImagePullBackOff after ErrImagePull", async () => {
      const p = await getPod("nowhere");
      const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason !== undefined && !seen.has(waiting.reason)) {
        expect(p.status?.phase).toBe("Pending");
        seen.set(waiting.reason, waiting.message ?? "");
      }
      return seen.has("ErrImagePull") && seen.has("ImagePullBackOff") ? true : undefined;
    }, 20_000, 50);
    // The runtime's error as the kubelet's gRPC client prints it, as in Kubernetes (the Failed event adds the image).
    expect(seen.get("ErrImagePull")).toMatch(/^rpc error: code = NotFound desc = .*example\.invalid\/nothing:here.*not found/);
    expect(seen.get("ImagePullBackOff")).toBe('Back-off pulling image "example.invalid/nothing:here"');
    const order = [...seen.keys()];
    expect(order.indexOf("ErrImagePull")).toBeLessThan(order.indexOf("ImagePullBackOff"));
  }, 30_000);

  it("stops a deleted pod and deletes it for good", async () => {
    const uid = (await getPod("web")).metadata.uid ?? "";
    await client.delete(PODS, "default", "web");
    await waitFor("web gone from the API", async () => {
      try {
        await getPod("web");
        return undefined;
      } catch {
        return true;
      }
    }, 20_000);
    await waitFor("web's sandbox and containers removed", async () => {
      const [s, c] = await Promise.all([cri.listPodSandbox({ labelSelector: { [POD_UID_LABEL]: uid } }), cri.listContainers({ labelSelector: { [POD_UID_LABEL]: uid } })]);
      return s.length === 0 && c.length === 0 ? true : undefined;
    }, 10_000);
  }, 30_000);

  it("runs a static pod from --pod-manifest-path and shows it through a mirror pod", async () => {
    const mirror = await waitFor("the mirror pod Running", async () => {
      const p = await getPod(`static-web-${nodeName}`).catch(() => undefined);
      return p?.status?.phase === "Running" ? p : undefined;
    }, 20_000);
    expect(mirror.metadata.annotations?.["kubernetes.io/config.source"]).toBe("file");
    expect(mirror.metadata.annotations?.["kubernetes.io/config.mirror"]).toBe(mirror.metadata.annotations?.["kubernetes.io/config.hash"]);
    expect(mirror.spec?.nodeName).toBe(nodeName);
    expect(mirror.status?.containerStatuses?.[0]).toMatchObject({ name: "web", ready: true });
    // A deleted mirror pod comes back; the static pod's container keeps running.
    const containerID = mirror.status?.containerStatuses?.[0]?.containerID;
    await client.delete(PODS, "default", `static-web-${nodeName}`, { gracePeriodSeconds: 0 });
    const again = await waitFor("the mirror pod again", async () => {
      const p = await getPod(`static-web-${nodeName}`).catch(() => undefined);
      return p && p.metadata.uid !== mirror.metadata.uid && p.status?.containerStatuses?.[0]?.ready ? p : undefined;
    }, 20_000);
    expect(again.status?.containerStatuses?.[0]?.containerID).toBe(containerID);
  }, 60_000);
});
