// kube-controller-manager as a real process (dist/controller-manager/main.js) against a real apiserver process on a
// real etcd, driven with the real kubectl. No scheduler or nodes here: a small stand-in for the kubelet marks every
// pod Running and Ready through pods/status as soon as it appears, so availability follows pod creation.
// CM_LOGS=<file> keeps the controller-manager's (--v=4) log.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchEvent } from "../api/meta.js";
import { RESOURCES } from "../api/resources.js";
import { formatTime } from "../api/time.js";
import type { Deployment, ReplicaSet } from "../api/types/apps.js";
import type { Pod, ReplicationController } from "../api/types/core.js";
import { createInformer } from "../client/informer.js";
import { RestClient } from "../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { startComponent, type ComponentProcess } from "../test/support/components.js";
import { freePort } from "../test/support/etcd.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const DEPLOYMENTS = RESOURCES.find((r) => r.group === "apps" && r.resource === "deployments")!;
const REPLICASETS = RESOURCES.find((r) => r.group === "apps" && r.resource === "replicasets")!;
const RCS = RESOURCES.find((r) => r.group === "" && r.resource === "replicationcontrollers")!;

/** Marks pods Running and Ready (what a kubelet would report) the moment they are created. */
function startPodReadier(client: RestClient, signal: AbortSignal): void {
  const informer = createInformer<Pod>({ client, resource: PODS, minWatchTimeoutSeconds: 30 });
  const done = new Set<string>();
  let ip = 1;
  const ready = (pod: Readonly<Pod>): void => {
    const uid = pod.metadata.uid ?? "";
    if (done.has(uid) || pod.metadata.deletionTimestamp) return;
    done.add(uid);
    const now = formatTime(Date.now());
    const podIP = `10.244.0.${(ip++ % 250) + 2}`;
    const status = {
      phase: "Running",
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: now,
      conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({ type, status: "True", lastTransitionTime: now })),
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? "", imageID: "", ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } })),
    };
    client.patch(PODS, pod.metadata.namespace, pod.metadata.name ?? "", "merge", { status }, { subresource: "status" }).catch(() => done.delete(uid));
  };
  informer.addEventHandler({ onAdd: ready, onUpdate: (_old, pod) => { ready(pod); } });
  void informer.run(signal);
}

describe("kube-controller-manager (real processes, real kubectl)", () => {
  let cluster: TestCluster;
  let manager: ComponentProcess;
  let client: RestClient;
  const stop = new AbortController();
  const k = (...args: string[]) => cluster.kubectl(args, { timeoutMs: 120_000 });
  const json = async <T>(...args: string[]): Promise<T> => JSON.parse((await k(...args, "-o", "json")).stdout) as T;

  beforeAll(async () => {
    cluster = await startTestCluster();
    const port = await freePort();
    manager = startComponent("kube-controller-manager", ["--kubeconfig", cluster.kubeconfig, "--port", String(port), "--leader-elect=false", "--v=4"]);
    await waitFor("controller-manager /healthz", async () => {
      if (!manager.running) throw new Error(`controller-manager exited: ${manager.logs().slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) || undefined;
    }, 20_000);
    client = new RestClient(clientConfigFor(cluster.api), { userAgent: "int-test" });
    startPodReadier(client, stop.signal);
  });

  afterAll(async () => {
    stop.abort();
    client?.close();
    await manager?.kill("SIGTERM");
    if (process.env.CM_LOGS) writeFileSync(process.env.CM_LOGS, manager.logs());
    await cluster?.destroy();
  });

  const replicaSets = async (): Promise<ReplicaSet[]> => (await client.list<ReplicaSet>(REPLICASETS, "default", { labelSelector: "app=web" })).items;

  it("creates, scales, rolls out, and rolls back a Deployment the way kubectl expects", async () => {
    await k("create", "deployment", "web", "--image=nginx:1.24");
    await k("rollout", "status", "deployment/web", "--timeout=60s");
    const [first] = await replicaSets();
    expect(first?.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(first?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("1");
    const firstPods = (await client.list<Pod>(PODS, "default", { labelSelector: "app=web" })).items;
    expect(firstPods).toHaveLength(1);
    expect(firstPods[0]?.metadata.labels?.["pod-template-hash"]).toBe(first?.metadata.labels?.["pod-template-hash"]);

    await k("scale", "deployment", "web", "--replicas=4");
    await k("rollout", "status", "deployment/web", "--timeout=60s");
    expect((await json<Deployment>("get", "deployment", "web")).status).toMatchObject({ replicas: 4, availableReplicas: 4, updatedReplicas: 4 });

    // Watch availability through the rollout: 4 replicas, maxUnavailable 25% → never below 3.
    const current = await client.get<Deployment>(DEPLOYMENTS, "default", "web");
    const watch = await client.watch<Deployment>(DEPLOYMENTS, "default", { fieldSelector: "metadata.name=web", resourceVersion: current.metadata.resourceVersion ?? "0" });
    const seen: WatchEvent<Deployment>[] = [];
    const watching = (async () => {
      for await (const ev of watch) seen.push(ev);
    })();
    // And the ReplicaSets' sizes: never more than replicas + maxSurge (25% of 4 → 1) pods asked for in total.
    const rsList = await client.list<ReplicaSet>(REPLICASETS, "default", { labelSelector: "app=web" });
    const sizes = new Map(rsList.items.map((rs) => [rs.metadata.name ?? "", rs.spec?.replicas ?? 0]));
    const totals: number[] = [];
    const trace: string[] = [];
    const rsWatch = await client.watch<ReplicaSet>(REPLICASETS, "default", { labelSelector: "app=web", resourceVersion: rsList.metadata.resourceVersion ?? "0" });
    const watchingSizes = (async () => {
      for await (const ev of rsWatch) {
        if (ev.type === "DELETED") sizes.delete(ev.object.metadata.name ?? "");
        else sizes.set(ev.object.metadata.name ?? "", ev.object.spec?.replicas ?? 0);
        totals.push([...sizes.values()].reduce((a, b) => a + b, 0));
        trace.push(`${ev.type} ${ev.object.metadata.name ?? ""} rv=${ev.object.metadata.resourceVersion ?? ""} spec=${ev.object.spec?.replicas ?? 0} status=${JSON.stringify(ev.object.status)} total=${totals.at(-1) ?? 0}`);
      }
    })();
    await k("set", "image", "deployment/web", "nginx=nginx:1.25");
    const rollout = await k("rollout", "status", "deployment/web", "--timeout=90s");
    expect(rollout.stdout).toContain('deployment "web" successfully rolled out');
    await waitFor("the final status on the watch", () => (seen.some((e) => e.object.status?.updatedReplicas === 4 && e.object.status.availableReplicas === 4 && (e.object.status.replicas ?? 0) === 4) ? true : undefined));
    watch.stop();
    rsWatch.stop();
    await Promise.all([watching, watchingSizes]);
    const available = seen.map((e) => e.object.status?.availableReplicas ?? 0);
    expect(seen.length).toBeGreaterThan(2);
    expect(Math.min(...available)).toBeGreaterThanOrEqual(3);
    expect(totals.length).toBeGreaterThan(2);
    expect(Math.max(...totals), trace.join("\n")).toBe(5);

    const afterUpdate = await replicaSets();
    expect(afterUpdate).toHaveLength(2);
    expect(afterUpdate.map((rs) => [rs.metadata.annotations?.["deployment.kubernetes.io/revision"], rs.spec?.replicas]).sort()).toEqual([["1", 0], ["2", 4]]);

    const history = await k("rollout", "history", "deployment/web");
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);

    await k("rollout", "undo", "deployment/web");
    await k("rollout", "status", "deployment/web", "--timeout=90s");
    let d = await json<Deployment>("get", "deployment", "web");
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe("nginx:1.24");
    expect(d.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("3");
    expect(await replicaSets()).toHaveLength(2); // revision 1's ReplicaSet was reused
    expect((await k("rollout", "history", "deployment/web")).stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);

    await k("rollout", "undo", "deployment/web", "--to-revision=2");
    await k("rollout", "status", "deployment/web", "--timeout=90s");
    d = await json<Deployment>("get", "deployment", "web");
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe("nginx:1.25");
    expect((await k("rollout", "history", "deployment/web")).stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n3\s+<none>\n4\s+<none>/);
    const reused = (await replicaSets()).find((rs) => rs.spec?.template?.spec?.containers[0]?.image === "nginx:1.25");
    expect(reused?.metadata.annotations?.["deployment.kubernetes.io/revision-history"]).toBe("2");

    const describe = await k("describe", "deployment", "web");
    expect(describe.stdout).toMatch(/Replicas:\s+4 desired \| 4 updated \| 4 total \| 4 available \| 0 unavailable/);
    expect(describe.stdout).toMatch(/ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set web-\w+ from 0 to 1/);
  });

  it("refills a ReplicationController of 5 after two of its pods are deleted", async () => {
    const manifest = JSON.stringify({
      apiVersion: "v1",
      kind: "ReplicationController",
      metadata: { name: "nginx" },
      spec: { replicas: 5, selector: { app: "nginx-rc" }, template: { metadata: { labels: { app: "nginx-rc" } }, spec: { containers: [{ name: "nginx", image: "nginx:1.24" }] } } },
    });
    await cluster.kubectl(["create", "-f", "-"], { stdin: manifest });
    const readyReplicas = async (): Promise<number> => (await client.get<ReplicationController>(RCS, "default", "nginx")).status?.readyReplicas ?? 0;
    await waitFor("5 ready replicas", async () => ((await readyReplicas()) === 5 ? true : undefined), 30_000);
    const before = (await client.list<Pod>(PODS, "default", { labelSelector: "app=nginx-rc" })).items.map((p) => p.metadata.name ?? "");
    expect(before).toHaveLength(5);
    await k("delete", "pod", before[0]!, before[1]!);
    await waitFor("5 ready replicas again", async () => {
      const pods = (await client.list<Pod>(PODS, "default", { labelSelector: "app=nginx-rc" })).items.filter((p) => !p.metadata.deletionTimestamp);
      return pods.length === 5 && (await readyReplicas()) === 5 && !pods.some((p) => p.metadata.name === before[0]) ? pods : undefined;
    }, 30_000);
    const events = await json<{ items: { reason: string; count?: number }[] }>("get", "events", "--field-selector", "involvedObject.name=nginx");
    const creates = events.items.filter((e) => e.reason === "SuccessfulCreate").reduce((n, e) => n + (e.count ?? 1), 0);
    expect(creates).toBe(7);
    expect((await k("get", "rc", "nginx")).stdout).toMatch(/^nginx\s+5\s+5\s+5\s+/m);
  });

  it("stops cleanly on SIGTERM", async () => {
    await manager.kill("SIGTERM");
    expect(manager.process.exitCode).toBe(0);
    expect(manager.logs()).toContain("Shut down cleanly");
  });
});
