// The scheduler's spreading, pod anti-affinity and preemption against the real thing: etcd, the apiserver, the
// kube-scheduler and kube-controller-manager processes (dist/, build first), hollow nodes running the pods, and
// kubectl 1.32 doing what a user would.
//   - required pod anti-affinity keeps a Deployment's replicas on different nodes; the one too many stays Pending
//     with Kubernetes' message;
//   - a Deployment scaled from 1 to 4 on 3 empty nodes lands on all 3, 20 runs of 20 (PodTopologySpread's system
//     default constraints);
//   - a high-priority pod preempts a low-priority one on a full cluster: the victim is gone, the preemptor bound
//     and Running where it was, nominated first; a pod that fits nowhere even after preemption says why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { Pod } from "../api/types/index.js";
import type { CoreEvent } from "../client/event-recorder.js";
import { RestClient } from "../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { startComponent, startComponentOnFreePort, type ComponentProcess } from "../test/support/components.js";
import { metricSum } from "../test/support/http.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const EVENTS = RESOURCES.find((r) => r.group === "" && r.resource === "events")!;
const APISERVER_ARGS = ["--advertise-address", "172.30.0.1"];

describe("kube-scheduler plugins with hollow nodes and kubectl", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let schedulerUrl = "";
  const processes: ComponentProcess[] = [];

  const kubectl = async (...args: string[]): Promise<string> => (await cluster.kubectl(args)).stdout;
  const apply = (yaml: string): Promise<string> => cluster.kubectl(["apply", "-f", "-"], { stdin: yaml }).then((r) => r.stdout);
  const pods = async (selector: string): Promise<Pod[]> => (await client.listAll<Pod>(PODS, "default", { labelSelector: selector })).items.filter((p) => !p.metadata.deletionTimestamp);
  const events = async (name: string): Promise<CoreEvent[]> => (await client.list<CoreEvent>(EVENTS, "default", { fieldSelector: `involvedObject.name=${name}` })).items;
  const readyNodes = async (): Promise<string[]> => {
    const out = await kubectl("get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}");
    return out.split("\n").filter((l) => l.endsWith("=True")).map((l) => l.slice(0, -5));
  };
  const startNodes = (prefix: string, count: number): void => {
    processes.push(startComponent("kubelab", ["hollow-nodes", "--kubeconfig", cluster.kubeconfig, "--name-prefix", prefix, "--count", String(count), "--cpu", "2", "--memory", "4Gi"], `${prefix}-nodes`));
  };

  beforeAll(async () => {
    cluster = await startTestCluster(APISERVER_ARGS);
    client = new RestClient(clientConfigFor(cluster.api), { qps: 0 });
    const master = ["--kubeconfig", cluster.kubeconfig];
    const scheduler = await startComponentOnFreePort("kube-scheduler", [...master, "--leader-elect=false"], "scheduler-plugins-scheduler");
    processes.push(scheduler);
    schedulerUrl = scheduler.url;
    processes.push(startComponent("kube-controller-manager", [...master, "--leader-elect=false", "--controllers=deployment,replicaset,garbagecollector", "--port=0"], "scheduler-plugins-cm"));
    startNodes("sched-a", 2);
    await waitFor("2 Ready nodes", async () => ((await readyNodes()).length === 2 ? true : undefined), 60_000, 250);
  }, 120_000);

  afterAll(async () => {
    // SIGTERM: hollow nodes remove their own root directories.
    for (const p of processes.reverse()) await p.kill("SIGTERM");
    client?.close();
    await cluster?.destroy();
  });

  it("keeps replicas with required anti-affinity on different nodes; the third stays Pending and says why", async () => {
    await apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: apart}
spec:
  replicas: 3
  selector: {matchLabels: {app: apart}}
  template:
    metadata: {labels: {app: apart}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: apart}}
            topologyKey: kubernetes.io/hostname
      containers: [{name: app, image: pause}]
`);
    const bound = await waitFor("two replicas bound and a third created", async () => {
      const list = await pods("app=apart");
      return list.length === 3 && list.filter((p) => p.spec?.nodeName).length === 2 ? list : undefined;
    }, 30_000, 100);
    const nodes = bound.filter((p) => p.spec?.nodeName).map((p) => p.spec!.nodeName!);
    expect(new Set(nodes).size).toBe(2);
    const pending = bound.find((p) => !p.spec?.nodeName)!;
    const message = "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.";
    const failed = await waitFor("FailedScheduling", async () => (await events(pending.metadata.name!)).find((e) => e.reason === "FailedScheduling"));
    expect(failed.message).toBe(message);
    expect(failed.message.startsWith("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.")).toBe(true);
    const row = await kubectl("get", "pod", pending.metadata.name!, "--no-headers");
    expect(row).toMatch(/\sPending\s/);
    const described = await kubectl("describe", "pod", pending.metadata.name!);
    expect(described).toContain("didn't match pod anti-affinity rules");
    await kubectl("delete", "deployment", "apart", "--wait=false");
  }, 60_000);

  it("spreads a Deployment scaled from 1 to 4 over 3 empty nodes, 20 runs of 20", async () => {
    startNodes("sched-b", 1);
    await waitFor("3 Ready nodes", async () => ((await readyNodes()).length === 3 ? true : undefined), 60_000, 250);
    await waitFor("the anti-affinity pods gone", async () => ((await pods("app=apart")).length === 0 ? true : undefined), 60_000, 250);
    const t0 = Date.now();
    let spread = 0;
    const layouts: string[] = [];
    for (let run = 0; run < 20; run++) {
      const name = `spread-${run}`;
      await kubectl("create", "deployment", name, "--image=pause", "--replicas=1");
      await waitFor(`${name}: 1 pod bound`, async () => ((await pods(`app=${name}`)).some((p) => p.spec?.nodeName) ? true : undefined), 30_000, 50);
      await kubectl("scale", "deployment", name, "--replicas=4");
      const bound = await waitFor(`${name}: 4 pods bound`, async () => {
        const list = (await pods(`app=${name}`)).filter((p) => p.spec?.nodeName);
        return list.length === 4 ? list : undefined;
      }, 30_000, 50);
      const perNode = new Map<string, number>();
      for (const p of bound) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
      layouts.push([...perNode.values()].sort().join("+"));
      if (perNode.size === 3) spread++;
      // The next run starts on empty nodes again.
      await kubectl("delete", "deployment", name, "--wait=false");
      await waitFor(`${name}: pods gone`, async () => ((await client.listAll<Pod>(PODS, "default", { labelSelector: `app=${name}` })).items.length === 0 ? true : undefined), 60_000, 100);
    }
    console.log(`Deployment 1 → 4 on 3 nodes: ${spread}/20 runs on all 3 nodes (${layouts.join(", ")}), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(spread).toBe(20);
  }, 600_000);

  it("preempts a lower-priority pod on a full cluster: the victim goes, the preemptor is nominated, bound and Running", async () => {
    await apply(`apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: sched-low}
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: sched-high}
value: 1000000
`);
    // Fill every node: 1500m of 2 cpu each.
    const filler = (i: number): string => `apiVersion: v1
kind: Pod
metadata: {name: filler-${i}, labels: {role: filler}}
spec:
  priorityClassName: sched-low
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: pause, resources: {requests: {cpu: 1500m}}}]
`;
    await apply([0, 1, 2].map(filler).join("---\n"));
    const fillers = await waitFor("fillers Running", async () => {
      const list = await pods("role=filler");
      return list.length === 3 && list.every((p) => p.status?.phase === "Running") ? list : undefined;
    }, 30_000, 100);
    expect(new Set(fillers.map((p) => p.spec?.nodeName)).size).toBe(3);
    const attemptsBefore = await metricSum(schedulerUrl, "scheduler_preemption_attempts_total");

    await apply(`apiVersion: v1
kind: Pod
metadata: {name: vip, labels: {role: vip}}
spec:
  priorityClassName: sched-high
  containers: [{name: app, image: pause, resources: {requests: {cpu: "1"}}}]
`);
    // The NOMINATED NODE column of `kubectl get pod -o wide`.
    const nominated = await waitFor("vip nominated", async () => {
      const cols = (await kubectl("get", "pod", "vip", "-o", "wide", "--no-headers")).trim().split(/\s+/);
      const n = cols[7];
      return n && n !== "<none>" ? n : undefined;
    }, 30_000, 50);
    const victim = fillers.find((p) => p.spec?.nodeName === nominated)!;
    const running = await waitFor("vip Running", async () => {
      const p = await client.get<Pod>(PODS, "default", "vip");
      return p.status?.phase === "Running" ? p : undefined;
    }, 60_000, 100);
    expect(running.spec?.nodeName).toBe(nominated);
    expect(running.spec?.priority).toBe(1000000);
    const names = (await kubectl("get", "pods", "-l", "role=filler", "-o", "jsonpath={.items[*].metadata.name}")).split(" ").filter(Boolean).sort();
    expect(names).toEqual(fillers.map((p) => p.metadata.name!).filter((n) => n !== victim.metadata.name).sort());
    const vipEvents = await events("vip");
    expect(vipEvents.some((e) => e.reason === "FailedScheduling" && e.message.startsWith("0/3 nodes are available: 3 Insufficient cpu."))).toBe(true);
    expect(vipEvents.some((e) => e.reason === "Scheduled")).toBe(true);
    const preempted = (await events(victim.metadata.name!)).find((e) => e.reason === "Preempted");
    expect(preempted?.message).toBe(`Preempted by pod ${running.metadata.uid!} on node ${nominated}`);
    expect(await metricSum(schedulerUrl, "scheduler_preemption_attempts_total")).toBeGreaterThan(attemptsBefore);
    expect(await metricSum(schedulerUrl, "scheduler_preemption_victims_count")).toBeGreaterThanOrEqual(1);

    // Too big for any node even with every lower-priority pod gone: the message says what preemption found.
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: giant, labels: {role: giant}}
spec:
  priorityClassName: sched-high
  containers: [{name: app, image: pause, resources: {requests: {cpu: "3"}}}]
`);
    const failed = await waitFor("giant FailedScheduling", async () => (await events("giant")).find((e) => e.reason === "FailedScheduling"));
    // The vip's node has nothing of lower priority; the others lack cpu even without their fillers.
    expect(failed.message).toBe("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Insufficient cpu.");
    const condition = (await client.get<Pod>(PODS, "default", "giant")).status?.conditions?.find((c) => c.type === "PodScheduled");
    expect(condition?.message).toContain("preemption: ");
    expect((await pods("role=filler")).length).toBe(2);
  }, 120_000);
});
