// The DaemonSet and StatefulSet controllers in the real kube-controller-manager process (dist/, build first), with
// the real scheduler, hollow nodes, a real apiserver on a real etcd, driven by the real kubectl.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import { parseTime } from "../../api/time.js";
import type { ControllerRevision } from "../../api/types/admissionregistration.js";
import type { DaemonSet, StatefulSet } from "../../api/types/apps.js";
import type { PersistentVolumeClaim } from "../../api/types/core-claims.js";
import type { EndpointSlice, Node, Pod } from "../../api/types/index.js";
import { RestClient } from "../../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../../test/support/apiserver.js";
import { startComponent, type ComponentProcess } from "../../test/support/components.js";

const res = (group: string, resource: string) => RESOURCES.find((r) => r.group === group && r.resource === resource)!;
const NODES = res("", "nodes");
const PODS = res("", "pods");
const PVCS = res("", "persistentvolumeclaims");
const SLICES = res("discovery.k8s.io", "endpointslices");
const DAEMONSETS = res("apps", "daemonsets");
const STATEFULSETS = res("apps", "statefulsets");
const REVISIONS = res("apps", "controllerrevisions");

let cluster: TestCluster;
let client: RestClient;
const processes: ComponentProcess[] = [];

/** The temporary root dirs of the hollow processes we SIGKILL (a process removes its own only on SIGTERM). */
function removeHollowRoots(): void {
  const pids = processes.filter((p) => p.name.startsWith("workloads-hollow")).map((p) => p.process.pid);
  // Hollow nodes put their root dir in /dev/shm when it has room, else in the temporary directory.
  for (const base of [tmpdir(), "/dev/shm"]) {
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base)) {
      if (pids.some((pid) => pid !== undefined && entry.startsWith(`kubelab-hollow-${pid}-`))) rmSync(join(base, entry), { recursive: true, force: true });
    }
  }
}

function startHollow(name: string, prefix: string, count: number): void {
  processes.push(startComponent("kubelab", ["hollow-nodes", "--kubeconfig", cluster.kubeconfig, "--count", String(count), "--name-prefix", prefix, "--start-delay", "1s"], name));
}

const readyNode = (n: Node): boolean => !!n.spec?.podCIDR && n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
const isReady = (p: Pod): boolean => p.status?.phase === "Running" && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
const readySince = (p: Pod): number | undefined => parseTime(p.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime);
const podsOf = async (selector: string): Promise<Pod[]> => (await client.listAll<Pod>(PODS, "default", { labelSelector: selector })).items;
const kubectl = async (...args: string[]): Promise<string> => (await cluster.kubectl(args, { timeoutMs: 100_000 })).stdout;

beforeAll(async () => {
  cluster = await startTestCluster();
  client = new RestClient(clientConfigFor(cluster.api), { userAgent: "workloads-int-test" });
  const master = ["--kubeconfig", cluster.kubeconfig, "--leader-elect=false"];
  processes.push(startComponent("kube-scheduler", master, "workloads-scheduler"));
  processes.push(startComponent("kube-controller-manager", [...master, "--allocate-node-cidrs", "--cluster-cidr=10.244.0.0/14"], "workloads-controller-manager"));
  startHollow("workloads-hollow-0", "wl", 3);
  await waitFor("3 Ready nodes with podCIDRs", async () => {
    const nodes = (await client.listAll<Node>(NODES, undefined)).items;
    return nodes.filter(readyNode).length === 3 || undefined;
  }, 60_000, 200);
}, 90_000);

afterAll(async () => {
  for (const p of processes.reverse()) await p.kill();
  removeHollowRoots();
  client.close();
  await cluster.destroy();
});

function daemonSet(name: string, extra: Record<string, unknown> = {}): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: "nginx:1" }], ...extra } },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
    },
  };
}

/** The node each ready pod of `app` runs on, once there are exactly `count` of them, all ready with `image`. */
async function daemonPodsReady(app: string, count: number, image = "nginx:1"): Promise<string[]> {
  const pods = await waitFor(`${count} ready ${app} pods with ${image}`, async () => {
    const list = (await podsOf(`app=${app}`)).filter((p) => !p.metadata.deletionTimestamp);
    return list.length === count && list.every((p) => isReady(p) && p.spec?.containers[0]?.image === image) ? list : undefined;
  }, 60_000, 200);
  return pods.map((p) => p.spec?.nodeName ?? "").sort();
}

describe("DaemonSet", () => {
  it("runs one pod per node, placed by the scheduler, and a new node gets its pod", async () => {
    await client.create(DAEMONSETS, "default", daemonSet("agent"));
    expect(await daemonPodsReady("agent", 3)).toEqual(["wl-0", "wl-1", "wl-2"]);
    const pod = (await podsOf("app=agent"))[0]!;
    expect(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchFields: [{ key: "metadata.name", operator: "In", values: [pod.spec?.nodeName] }] },
    ]);
    expect(pod.spec?.tolerations?.map((t) => `${t.key ?? ""}:${t.effect ?? ""}`)).toEqual(expect.arrayContaining(["node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unschedulable:NoSchedule"]));
    expect(pod.metadata.labels?.["controller-revision-hash"]).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    await waitFor("status counters for 3", async () => {
      const ds = await client.get<DaemonSet>(DAEMONSETS, "default", "agent");
      return ds.status?.numberAvailable === 3 && ds.status.updatedNumberScheduled === 3 ? ds : undefined;
    });
    const row = await kubectl("get", "ds", "agent", "--no-headers");
    expect(row.trim().split(/\s+/).slice(0, 6)).toEqual(["agent", "3", "3", "3", "3", "3"]);

    startHollow("workloads-hollow-1", "wlx", 1);
    expect(await daemonPodsReady("agent", 4)).toEqual(["wl-0", "wl-1", "wl-2", "wlx-0"]);
  }, 120_000);

  it("skips a tainted node unless the template tolerates the taint", async () => {
    await kubectl("taint", "node", "wlx-0", "dedicated=infra:NoSchedule");
    await client.create(DAEMONSETS, "default", daemonSet("plain"));
    await client.create(DAEMONSETS, "default", daemonSet("tolerant", { tolerations: [{ key: "dedicated", operator: "Equal", value: "infra", effect: "NoSchedule" }] }));
    expect(await daemonPodsReady("tolerant", 4)).toEqual(["wl-0", "wl-1", "wl-2", "wlx-0"]);
    expect(await daemonPodsReady("plain", 3)).toEqual(["wl-0", "wl-1", "wl-2"]);
    const plain = await waitFor("plain status", async () => {
      const ds = await client.get<DaemonSet>(DAEMONSETS, "default", "plain");
      return ds.status?.numberReady === 3 ? ds : undefined;
    });
    expect(plain.status).toMatchObject({ desiredNumberScheduled: 3, currentNumberScheduled: 3, numberMisscheduled: 0 });
    // The NoSchedule taint does not evict the pod already running there.
    expect((await podsOf("app=agent")).some((p) => p.spec?.nodeName === "wlx-0")).toBe(true);
    // Untainted, the node gets the plain daemon too.
    await kubectl("taint", "node", "wlx-0", "dedicated=infra:NoSchedule-");
    expect(await daemonPodsReady("plain", 4)).toEqual(["wl-0", "wl-1", "wl-2", "wlx-0"]);
  }, 120_000);

  it("rolls an image change out within maxUnavailable and undoes it with kubectl", async () => {
    // Watch how many nodes have a serving agent while the rollout runs: maxUnavailable 1 of 4 keeps at least 3.
    let watching = true;
    let fewestReady = Infinity;
    const watcher = (async () => {
      while (watching) {
        const ready = (await podsOf("app=agent")).filter((p) => !p.metadata.deletionTimestamp && isReady(p));
        fewestReady = Math.min(fewestReady, new Set(ready.map((p) => p.spec?.nodeName)).size);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await kubectl("set", "image", "ds/agent", "agent=nginx:2");
    const status = await kubectl("rollout", "status", "ds/agent", "--timeout=90s");
    watching = false;
    await watcher;
    expect(status).toContain('daemon set "agent" successfully rolled out');
    expect(fewestReady).toBe(3);
    expect(await daemonPodsReady("agent", 4, "nginx:2")).toHaveLength(4);
    const history = await kubectl("rollout", "history", "ds/agent");
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    expect(await kubectl("rollout", "history", "ds/agent", "--revision=1")).toContain("nginx:1");

    expect(await kubectl("rollout", "undo", "ds/agent")).toContain("daemonset.apps/agent rolled back");
    await kubectl("rollout", "status", "ds/agent", "--timeout=90s");
    expect(await daemonPodsReady("agent", 4, "nginx:1")).toHaveLength(4);
    // Undo renumbers the old revision instead of copying it.
    const revisions = (await client.listAll<ControllerRevision>(REVISIONS, "default", { labelSelector: "app=agent" })).items;
    expect(revisions.map((r) => r.revision).sort()).toEqual([2, 3]);
    expect(await kubectl("rollout", "history", "ds/agent")).toMatch(/2\s+<none>\n3\s+<none>/);
  }, 200_000);

  it("leaves its pods and revisions to the garbage collector when deleted", async () => {
    expect((await client.listAll<ControllerRevision>(REVISIONS, "default", { labelSelector: "app=plain" })).items).toHaveLength(1);
    await kubectl("delete", "ds", "plain");
    await waitFor("plain's pods and revisions gone", async () => {
      const pods = await podsOf("app=plain");
      const revisions = (await client.listAll<ControllerRevision>(REVISIONS, "default", { labelSelector: "app=plain" })).items;
      return (pods.length === 0 && revisions.length === 0) || undefined;
    }, 30_000, 200);
  }, 60_000);
});

describe("StatefulSet", () => {
  const statefulSet: StatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web" },
    spec: {
      replicas: 3,
      serviceName: "web",
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1", volumeMounts: [{ name: "www", mountPath: "/usr/share/nginx/html" }] }] } },
      // The scheduler places a pod only once its claims can be bound: a WaitForFirstConsumer local-path class.
      volumeClaimTemplates: [{ metadata: { name: "www" }, spec: { storageClassName: "workloads-local", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
    },
  };

  it("creates web-0..2 in order, each after its predecessor is Ready, with claims and per-pod DNS names", async () => {
    await cluster.kubectl(["apply", "-f", "-"], { stdin: "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: workloads-local}\nprovisioner: kubelab.dev/local-path\nvolumeBindingMode: WaitForFirstConsumer\n" });
    await kubectl("create", "service", "clusterip", "web", "--clusterip=None", "--tcp=80:80");
    await client.create(STATEFULSETS, "default", statefulSet);
    const pods = await waitFor("web-0..2 ready", async () => {
      const list = await podsOf("app=web");
      return list.length === 3 && list.every(isReady) ? list.sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "")) : undefined;
    }, 60_000, 200);
    expect(pods.map((p) => p.metadata.name)).toEqual(["web-0", "web-1", "web-2"]);
    for (let i = 1; i < 3; i++) {
      // Each pod takes at least the 1 s sandbox delay to get ready, and the next one is created only after that.
      const created = parseTime(pods[i]!.metadata.creationTimestamp)!;
      expect(created).toBeGreaterThanOrEqual(readySince(pods[i - 1]!)!);
      expect(created).toBeGreaterThan(parseTime(pods[i - 1]!.metadata.creationTimestamp)!);
    }
    for (const [i, pod] of pods.entries()) {
      expect(pod.spec).toMatchObject({ hostname: `web-${i}`, subdomain: "web" });
      expect(pod.metadata.labels).toMatchObject({ "statefulset.kubernetes.io/pod-name": `web-${i}`, "apps.kubernetes.io/pod-index": String(i) });
      expect(pod.spec?.volumes).toContainEqual({ name: "www", persistentVolumeClaim: { claimName: `www-web-${i}` } });
    }
    const claims = (await client.listAll<PersistentVolumeClaim>(PVCS, "default")).items.map((c) => c.metadata.name).sort();
    expect(claims).toEqual(["www-web-0", "www-web-1", "www-web-2"]);
    // The headless Service's endpoints carry the hostnames cluster-dns serves as web-N.web.default.svc.cluster.local.
    await waitFor("hostnames in the EndpointSlice", async () => {
      const slices = (await client.listAll<EndpointSlice>(SLICES, "default", { labelSelector: "kubernetes.io/service-name=web" })).items;
      const hosts = slices.flatMap((s) => (s.endpoints ?? []).map((e) => e.hostname)).sort();
      return hosts.join(",") === "web-0,web-1,web-2" || undefined;
    });
    const status = await kubectl("rollout", "status", "sts/web", "--timeout=30s");
    expect(status).toContain("partitioned roll out complete: 3 new pods have been updated...");
  }, 120_000);

  it("brings a deleted web-1 back as web-1 with the same claim", async () => {
    const before = await client.get<Pod>(PODS, "default", "web-1");
    const claimBefore = await client.get<PersistentVolumeClaim>(PVCS, "default", "www-web-1");
    await kubectl("delete", "pod", "web-1");
    const after = await waitFor("a new web-1 ready", async () => {
      const p = await client.get<Pod>(PODS, "default", "web-1").catch(() => undefined);
      return p && p.metadata.uid !== before.metadata.uid && isReady(p) ? p : undefined;
    }, 60_000, 200);
    expect(after.spec?.volumes).toContainEqual({ name: "www", persistentVolumeClaim: { claimName: "www-web-1" } });
    expect((await client.get<PersistentVolumeClaim>(PVCS, "default", "www-web-1")).metadata.uid).toBe(claimBefore.metadata.uid);
  }, 90_000);

  it("rolls an update from the highest ordinal down and undoes it", async () => {
    await kubectl("set", "image", "sts/web", "web=nginx:2");
    expect(await kubectl("rollout", "status", "sts/web", "--timeout=90s")).toContain("partitioned roll out complete");
    await waitFor("every pod on nginx:2 and the revisions converged", async () => {
      const sts = await client.get<StatefulSet>(STATEFULSETS, "default", "web");
      const pods = await podsOf("app=web");
      const done = pods.length === 3 && pods.every((p) => isReady(p) && p.spec?.containers[0]?.image === "nginx:2") && sts.status?.currentRevision === sts.status?.updateRevision && sts.status?.updatedReplicas === 3;
      return done || undefined;
    }, 60_000, 200);
    const pods = await podsOf("app=web");
    // web-2 was replaced first, web-0 last.
    const created = (n: string) => parseTime(pods.find((p) => p.metadata.name === n)!.metadata.creationTimestamp)!;
    expect(created("web-2")).toBeLessThan(created("web-1"));
    expect(created("web-1")).toBeLessThan(created("web-0"));
    expect(await kubectl("rollout", "history", "sts/web")).toMatch(/1\s+<none>\n2\s+<none>/);

    expect(await kubectl("rollout", "undo", "sts/web")).toContain("statefulset.apps/web rolled back");
    await waitFor("every pod back on nginx:1", async () => {
      const sts = await client.get<StatefulSet>(STATEFULSETS, "default", "web");
      const list = await podsOf("app=web");
      return (list.length === 3 && list.every((p) => isReady(p) && p.spec?.containers[0]?.image === "nginx:1") && sts.status?.currentRevision === sts.status?.updateRevision) || undefined;
    }, 90_000, 200);
    expect(await kubectl("rollout", "status", "sts/web", "--timeout=30s")).toContain("partitioned roll out complete");
  }, 240_000);

  it("scales down from the highest ordinal, web-2 before web-1, and keeps the claims", async () => {
    // Every pod deletion in the order the apiserver saw it: when each pod got its deletionTimestamp, and when it went.
    const list = await client.list<Pod>(PODS, "default", { labelSelector: "app=web" });
    const watch = await client.watch<Pod>(PODS, "default", { labelSelector: "app=web", resourceVersion: list.metadata?.resourceVersion ?? "" });
    const order: string[] = [];
    const watching = (async () => {
      for await (const event of watch) {
        if (event.type !== "MODIFIED" && event.type !== "DELETED") continue;
        const pod = event.object;
        const what = `${event.type === "DELETED" ? "gone" : "terminating"} ${pod.metadata.name ?? ""}`;
        if ((event.type === "DELETED" || pod.metadata.deletionTimestamp) && !order.includes(what)) order.push(what);
      }
    })();
    await kubectl("scale", "sts", "web", "--replicas=1");
    await waitFor("only web-0 left", async () => ((await podsOf("app=web")).map((p) => p.metadata.name).join(",") === "web-0") || undefined, 60_000, 100);
    watch.stop();
    await watching.catch(() => undefined);
    // web-1 is deleted only after web-2 is gone (OrderedReady).
    expect(order.filter((o) => o.startsWith("gone"))).toEqual(["gone web-2", "gone web-1"]);
    expect(order.indexOf("gone web-2")).toBeLessThan(!order.includes("terminating web-1") ? order.indexOf("gone web-1") : order.indexOf("terminating web-1"));
    const claims = (await client.listAll<PersistentVolumeClaim>(PVCS, "default")).items.map((c) => c.metadata.name).sort();
    expect(claims).toEqual(["www-web-0", "www-web-1", "www-web-2"]);
    const sts = await waitFor("status replicas 1", async () => {
      const s = await client.get<StatefulSet>(STATEFULSETS, "default", "web");
      return s.status?.replicas === 1 && s.status.readyReplicas === 1 ? s : undefined;
    });
    expect(sts.status?.availableReplicas).toBe(1);
  }, 90_000);
});
