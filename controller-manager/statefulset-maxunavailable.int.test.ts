// StatefulSet RollingUpdate with maxUnavailable behind --feature-gates=MaxUnavailableStatefulSet=true, end to end:
// real etcd, apiserver, scheduler, controller-manager and hollow nodes, driven with the real kubectl (processes get
// the test cluster's kubeconfig). The update's pods crash-loop, so the rollout halts with exactly maxUnavailable
// pods replaced: the number the gate lets go at once; with minReadySeconds a replacement holds its place until it
// has been Ready that long. Run `npm run build` first.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatefulSet } from "../api/types/apps.js";
import type { Pod } from "../api/types/core.js";
import { waitFor, type TestCluster } from "../test/support/apiserver.js";
import { startHollowCluster, type HollowCluster } from "../test/support/hollow-cluster.js";

describe("StatefulSet maxUnavailable with the MaxUnavailableStatefulSet gate (real processes, real kubectl)", () => {
  let cluster: TestCluster;
  let hollow: HollowCluster | undefined;
  const k = (...args: string[]) => cluster.kubectl(args, { timeoutMs: 120_000 });

  beforeAll(async () => {
    hollow = await startHollowCluster("workloads-mu", { controllerManagerArgs: ["--feature-gates=MaxUnavailableStatefulSet=true"] });
    cluster = hollow.cluster;
  }, 120_000);

  afterAll(async () => {
    await hollow?.destroy();
  });

  it("replaces maxUnavailable pods at once and no more while they are unavailable", async () => {
    const set = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "workloads-web" },
      spec: {
        replicas: 4,
        serviceName: "workloads-web",
        podManagementPolicy: "Parallel",
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "50%" } },
        selector: { matchLabels: { app: "workloads-web" } },
        template: { metadata: { labels: { app: "workloads-web" } }, spec: { containers: [{ name: "c", image: "busybox", command: ["sleep", "infinity"] }] } },
      },
    };
    await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(set) });
    await k("rollout", "status", "sts/workloads-web", "--timeout=60s");
    await k("patch", "sts", "workloads-web", "-p", JSON.stringify({ spec: { template: { spec: { containers: [{ name: "c", command: ["sh", "-c", "exit 1"] }] } } } }));
    const getSet = async (): Promise<StatefulSet> => JSON.parse((await k("get", "sts", "workloads-web", "-o", "json")).stdout) as StatefulSet;
    const pods = async (): Promise<Map<string, Pod>> => {
      const list = (JSON.parse((await k("get", "pods", "-l", "app=workloads-web", "-o", "json")).stdout) as { items: Pod[] }).items;
      return new Map(list.map((p) => [p.metadata.name ?? "", p]));
    };
    const revisionOf = (p: Pod | undefined): string | undefined => p?.metadata.labels?.["controller-revision-hash"];
    // Wait until both replaced pods have crashed at least once: the controller has seen them unavailable many times.
    const updateRevision = await waitFor("web-3 and web-2 replaced and crash-looping", async () => {
      const rev = (await getSet()).status?.updateRevision;
      const now = await pods();
      const crashed = ["workloads-web-3", "workloads-web-2"].every((n) => revisionOf(now.get(n)) === rev && (now.get(n)?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
      return crashed ? rev : undefined;
    }, 90_000, 500);
    const now = await pods();
    expect([...now.keys()].sort()).toEqual(["workloads-web-0", "workloads-web-1", "workloads-web-2", "workloads-web-3"]);
    expect(revisionOf(now.get("workloads-web-1"))).not.toBe(updateRevision);
    expect(revisionOf(now.get("workloads-web-0"))).not.toBe(updateRevision);
    expect(now.get("workloads-web-1")?.metadata.deletionTimestamp).toBeUndefined();
    const status = (await getSet()).status;
    expect(status).toMatchObject({ replicas: 4, updatedReplicas: 2, currentReplicas: 2 });
  }, 180_000);

  it("with minReadySeconds, holds the next wave until a replacement has been Ready that long; availableReplicas follows", async () => {
    const minReadySeconds = 6;
    const set = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "workloads-mrs" },
      spec: {
        replicas: 4,
        minReadySeconds,
        serviceName: "workloads-mrs",
        podManagementPolicy: "Parallel",
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 2 } },
        selector: { matchLabels: { app: "workloads-mrs" } },
        template: { metadata: { labels: { app: "workloads-mrs" } }, spec: { containers: [{ name: "c", image: "busybox:1", command: ["sleep", "infinity"] }] } },
      },
    };
    await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(set) });
    const getSet = async (): Promise<StatefulSet> => JSON.parse((await k("get", "sts", "workloads-mrs", "-o", "json")).stdout) as StatefulSet;
    const listPods = async (): Promise<Pod[]> => (JSON.parse((await k("get", "pods", "-l", "app=workloads-mrs", "-o", "json")).stdout) as { items: Pod[] }).items;
    const converged = async (image: string): Promise<StatefulSet | undefined> => {
      const s = await getSet();
      const pods = await listPods();
      const done = pods.length === 4 && pods.every((p) => p.spec?.containers[0]?.image === image && !p.metadata.deletionTimestamp) && s.status?.availableReplicas === 4 && s.status.updatedReplicas === 4;
      return done ? s : undefined;
    };
    await waitFor("4 pods available", () => converged("busybox:1"), 90_000, 500);
    await k("set", "image", "sts/workloads-mrs", "c=busybox:2");
    await waitFor("4 pods of busybox:2 available", () => converged("busybox:2"), 120_000, 500);
    const pods = new Map((await listPods()).map((p) => [p.metadata.name ?? "", p]));
    const time = (value: string | undefined): number => (value ? Date.parse(value) : Number.NaN);
    const readyAt = (name: string): number => time(pods.get(name)?.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime);
    const createdAt = (name: string): number => time(pods.get(name)?.metadata.creationTimestamp);
    // The first wave (web-3, web-2) went at once; the second only once one of them had been Ready minReadySeconds.
    // Timestamps have whole seconds: a gap of minReadySeconds reads as at least minReadySeconds - 1.
    const firstAvailable = Math.min(readyAt("workloads-mrs-3"), readyAt("workloads-mrs-2"));
    const secondWave = Math.min(createdAt("workloads-mrs-1"), createdAt("workloads-mrs-0"));
    expect(Number.isFinite(firstAvailable) && Number.isFinite(secondWave)).toBe(true);
    expect(secondWave - firstAvailable).toBeGreaterThanOrEqual((minReadySeconds - 1) * 1000);
  }, 240_000);
});
