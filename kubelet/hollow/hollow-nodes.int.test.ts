// Hollow nodes as a real process (the built dist/kubelet/hollow/main.js, as `kubelab hollow-nodes` runs it; run
// `npm run build` first) against a real apiserver process on a real etcd: registration, leases, pods, annotations,
// deletion, SIGKILL and restart; 1,000 nodes in one process, with a Deployment on them through a real scheduler and
// controller-manager.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound } from "../../api/errors.js";
import { RESOURCES } from "../../api/resources.js";
import { newPod } from "../../api/testing/builders.js";
import type { CoreEvent, Lease, Node, Pod } from "../../api/types/index.js";
import { RestClient } from "../../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../../test/support/apiserver.js";
import { startComponent } from "../../test/support/components.js";
import { rootDirBase, UNREADY_ANNOTATION } from "./hollow-nodes.js";

const NODES = RESOURCES.find((r) => r.resource === "nodes")!;
const PODS = RESOURCES.find((r) => r.resource === "pods")!;
const LEASES = RESOURCES.find((r) => r.resource === "leases")!;
const EVENTS = RESOURCES.find((r) => r.group === "" && r.resource === "events")!;

interface HollowProcess {
  pid: number;
  logs(): string;
  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

let hollowStarted = 0;
const hollowPids: number[] = [];

/** The temporary root dirs of hollow processes this file SIGKILLed (a process removes its own on SIGTERM). */
function removeRootDirs(): void {
  const base = rootDirBase();
  for (const entry of readdirSync(base)) {
    if (hollowPids.some((pid) => entry.startsWith(`kubelab-hollow-${pid}-`))) rmSync(join(base, entry), { recursive: true, force: true });
  }
}

/** A hollow-nodes process, started and not waited for: the tests watch its nodes appear. */
function startHollow(kubeconfig: string, args: string[]): HollowProcess {
  const hollow = startComponent("kubelab", ["hollow-nodes", "--kubeconfig", kubeconfig, ...args], `hollow-nodes-${hollowStarted++}`);
  hollowPids.push(hollow.process.pid ?? -1);
  return {
    pid: hollow.process.pid ?? -1,
    logs: () => hollow.logs(),
    async stop(signal) {
      await hollow.kill(signal);
      return hollow.process.exitCode;
    },
  };
}

/** Seconds of CPU (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const readyStatus = (node: Node | undefined): string | undefined => node?.status?.conditions?.find((c) => c.type === "Ready")?.status;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("kubelab hollow-nodes: 3 nodes", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let hollow: HollowProcess | undefined;
  const args = ["--count", "3", "--name-prefix", "hn", "--lease-duration", "4s", "--lease-renew-interval", "500ms", "--pod-cidr-wait", "1s"];

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = new RestClient(clientConfigFor(cluster.api));
    hollow = startHollow(cluster.kubeconfig, args);
  });

  afterAll(async () => {
    await hollow?.stop("SIGKILL");
    removeRootDirs();
    client.close();
    await cluster.destroy();
  });

  const node = (name: string) => client.get<Node>(NODES, undefined, name);
  const lease = (name: string) => client.get<Lease>(LEASES, "kube-node-lease", name);
  const pod = (name: string) => client.get<Pod>(PODS, "default", name);
  const renewTimes = async () => Promise.all(["hn-0", "hn-1", "hn-2"].map(async (n) => (await lease(n)).spec?.renewTime));

  it("registers 3 Ready nodes whose leases keep being renewed", async () => {
    for (const name of ["hn-0", "hn-1", "hn-2"]) {
      await waitFor(`${name} Ready`, async () => readyStatus(await node(name)) === "True");
    }
    const n1 = await node("hn-1");
    expect(n1.metadata.labels).toMatchObject({ "kubernetes.io/hostname": "hn-1", "kubernetes.io/os": "linux", type: "hollow", "node.kubernetes.io/instance-type": "hollow" });
    expect(n1.status?.addresses).toEqual([{ type: "InternalIP", address: "172.30.128.2" }, { type: "Hostname", address: "hn-1" }]);
    expect(n1.status?.capacity).toMatchObject({ cpu: "4", memory: "8Gi", pods: "110" });
    const l1 = await waitFor("hn-1 lease", () => lease("hn-1"));
    expect(l1.spec).toMatchObject({ holderIdentity: "hn-1", leaseDurationSeconds: 4 });
    expect(l1.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(l1.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Node", name: "hn-1", uid: n1.metadata.uid }]);
    const before = await renewTimes();
    await waitFor("every lease renewed", async () => (await renewTimes()).every((t, i) => t !== undefined && t > before[i]!), 5000);
  });

  it("runs a pod bound to one of them: Running, an IP from the node's podCIDR, Ready", async () => {
    // What the controller-manager's node IPAM would do.
    await client.patch(NODES, undefined, "hn-0", "merge", { spec: { podCIDR: "10.244.5.0/24", podCIDRs: ["10.244.5.0/24"] } });
    const started = Date.now();
    await client.create(PODS, "default", newPod("web", { nodeName: "hn-0", containers: [{ name: "app", image: "nginx" }, { name: "side", image: "busybox" }] }));
    const running = await waitFor("web Running", async () => {
      const p = await pod("web");
      return p.status?.phase === "Running" ? p : undefined;
    });
    console.log(`pod bound → Running in ${Date.now() - started} ms`);
    expect(running.status).toMatchObject({ podIP: "10.244.5.2", podIPs: [{ ip: "10.244.5.2" }], hostIP: "172.30.128.1", hostIPs: [{ ip: "172.30.128.1" }] });
    expect(running.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(running.status?.containerStatuses?.map((c) => [c.name, c.ready, c.started, c.restartCount])).toEqual([
      ["app", true, true, 0],
      ["side", true, true, 0],
    ]);
    for (const c of running.status?.containerStatuses ?? []) {
      expect(c.containerID).toMatch(/^hollow:\/\//);
      expect(c.imageID).toMatch(/@sha256:[0-9a-f]{64}$/);
    }
    // Level-based: nothing more is written once it runs.
    await sleep(1000);
    expect((await pod("web")).metadata.resourceVersion).toBe(running.metadata.resourceVersion);
  });

  it("answers network probes as a serving container would: a pod with HTTP readiness and TCP liveness probes is Ready, never restarted", async () => {
    const probed = newPod("probed", {
      nodeName: "hn-0",
      containers: [{
        name: "web",
        image: "httpd",
        ports: [{ name: "http", containerPort: 80 }],
        readinessProbe: { httpGet: { path: "/index.html", port: "http" }, periodSeconds: 1 },
        livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1, failureThreshold: 1 },
      }],
    });
    await client.create(PODS, "default", probed);
    const ready = await waitFor("probed Ready", async () => {
      const p = await pod("probed");
      return p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? p : undefined;
    });
    expect(ready.status?.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0 });
    await client.delete(PODS, "default", "probed");
  });

  it("admits pods: a second pod claiming a host port in use on its node is Failed (NodePorts) with a Warning event, never run", async () => {
    const withHostPort = (name: string) => newPod(name, { nodeName: "hn-2", containers: [{ name: "app", image: "nginx", ports: [{ containerPort: 80, hostPort: 21017 }] }] });
    await client.create(PODS, "default", withHostPort("port-owner"));
    await waitFor("port-owner Running", async () => (await pod("port-owner")).status?.phase === "Running");
    await client.create(PODS, "default", withHostPort("port-taker"));
    const rejected = await waitFor("port-taker Failed", async () => {
      const p = await pod("port-taker");
      return p.status?.phase === "Failed" ? p : undefined;
    });
    expect(rejected.status).toMatchObject({ reason: "NodePorts", message: "Pod was rejected: Predicate NodePorts failed" });
    expect(rejected.status?.containerStatuses ?? []).toEqual([]);
    const events = await waitFor("the NodePorts event", async () => {
      const list = await client.list<CoreEvent>(EVENTS, "default", { fieldSelector: "involvedObject.name=port-taker" });
      return list.items.some((e) => e.reason === "NodePorts") ? list.items : undefined;
    });
    expect(events.find((e) => e.reason === "NodePorts")).toMatchObject({ type: "Warning", message: "Predicate NodePorts failed", source: { component: "kubelet", host: "hn-2" } });
    // The same port on another node is free.
    await client.create(PODS, "default", newPod("port-elsewhere", { nodeName: "hn-1", containers: [{ name: "app", image: "nginx", ports: [{ containerPort: 80, hostPort: 21017 }] }] }));
    await waitFor("port-elsewhere Running", async () => (await pod("port-elsewhere")).status?.phase === "Running");
    for (const name of ["port-owner", "port-taker", "port-elsewhere"]) await client.delete(PODS, "default", name);
  });

  it("turns the pod unready with the unready annotation and ready again without it", async () => {
    const readyOf = async () => (await pod("web")).status?.conditions?.find((c) => c.type === "Ready")?.status;
    await client.patch(PODS, "default", "web", "merge", { metadata: { annotations: { [UNREADY_ANNOTATION]: "true" } } });
    await waitFor("web unready", async () => (await readyOf()) === "False");
    const p = await pod("web");
    expect(p.status?.phase).toBe("Running");
    expect(p.status?.conditions?.find((c) => c.type === "ContainersReady")?.status).toBe("False");
    await client.patch(PODS, "default", "web", "merge", { metadata: { annotations: { [UNREADY_ANNOTATION]: null } } });
    await waitFor("web ready again", async () => (await readyOf()) === "True");
  });

  it("finishes the deletion of a bound pod (the apiserver only marks it)", async () => {
    const marked = await client.delete<Pod>(PODS, "default", "web");
    expect(marked.kind).toBe("Pod");
    expect((marked as Pod).metadata.deletionTimestamp).toBeTruthy();
    await waitFor("web gone", async () => {
      try {
        await pod("web");
        return undefined;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    });
  });

  it("is a dying node when SIGKILLed: leases stop being renewed, the Nodes stay", async () => {
    await client.create(PODS, "default", newPod("survivor", { nodeName: "hn-1" }));
    const survivor = await waitFor("survivor Running", async () => {
      const p = await pod("survivor");
      return p.status?.phase === "Running" ? p : undefined;
    });
    expect(await hollow!.stop("SIGKILL")).toBeNull();
    const frozen = await renewTimes();
    await sleep(1500); // three renew intervals
    expect(await renewTimes()).toEqual(frozen);
    const nodes = await client.list<Node>(NODES, undefined, { labelSelector: "type=hollow" });
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(["hn-0", "hn-1", "hn-2"]);
    expect((await pod("survivor")).metadata.resourceVersion).toBe(survivor.metadata.resourceVersion);
  });

  it("adopts its nodes after a restart, renews again, and runs its pods again; SIGTERM stops it, keeping the nodes", async () => {
    const frozen = await renewTimes();
    const uids = await Promise.all(["hn-0", "hn-1", "hn-2"].map(async (n) => (await node(n)).metadata.uid));
    hollow = startHollow(cluster.kubeconfig, args);
    await waitFor("leases renewed after the restart", async () => (await renewTimes()).every((t, i) => t !== undefined && t > frozen[i]!), 10_000);
    expect(await Promise.all(["hn-0", "hn-1", "hn-2"].map(async (n) => (await node(n)).metadata.uid))).toEqual(uids);
    // A new pod runs; the one that ran before the crash runs again (the fake runtime lost it, as a rebooted node).
    await client.create(PODS, "default", newPod("after", { nodeName: "hn-1" }));
    await waitFor("after Running", async () => (await pod("after")).status?.phase === "Running");
    const now = await waitFor("survivor Running again", async () => {
      const p = await pod("survivor");
      return p.status?.phase === "Running" && p.status.podIP ? p : undefined;
    });
    expect((await pod("after")).status?.podIP).not.toBe(now.status?.podIP);

    expect(await hollow.stop("SIGTERM")).toBe(0);
    expect(hollow.logs()).toContain("Hollow nodes stopped");
    const nodes = await client.list<Node>(NODES, undefined, { labelSelector: "type=hollow" });
    expect(nodes.items).toHaveLength(3);
  });
});

describe("kubelab hollow-nodes: 1,000 nodes in one process", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let hollow: HollowProcess | undefined;

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = new RestClient(clientConfigFor(cluster.api), { qps: 0 });
  });

  afterAll(async () => {
    await hollow?.stop("SIGKILL");
    removeRootDirs();
    client.close();
    await cluster.destroy();
  });

  it("registers 1,000 nodes within 120 s and renews every lease", async () => {
    const count = 1000;
    const started = Date.now();
    hollow = startHollow(cluster.kubeconfig, ["--count", String(count), "--name-prefix", "big"]);
    // The process logs when its last node registered; polling 1,000 nodes meanwhile would slow down what it measures.
    await waitFor("all nodes registered", () => hollow!.logs().includes("All hollow nodes registered") || undefined, 120_000, 100);
    const registeredMs = Date.now() - started;
    const internalMs = /"ms":(\d+),"msg":"All hollow nodes registered"/.exec(hollow.logs())?.[1];
    const nodes = await client.listAll<Node>(NODES, undefined, { labelSelector: "type=hollow" });
    expect(nodes.items.filter((n) => readyStatus(n) === "True")).toHaveLength(count);

    const leases = async () => new Map((await client.listAll<Lease>(LEASES, "kube-node-lease")).items.map((l) => [l.metadata.name ?? "", l.spec?.renewTime ?? ""]));
    const first = await waitFor(`${count} leases`, async () => {
      const l = await leases();
      return l.size === count ? l : undefined;
    }, 30_000, 250);
    const renewStarted = Date.now();
    await waitFor("every lease renewed once", async () => {
      const l = await leases();
      return [...first].every(([name, t]) => (l.get(name) ?? "") > t) || undefined;
    }, 60_000, 500);
    const renewedMs = Date.now() - renewStarted;

    // Steady state: leases every 10 s, spread, and nothing else.
    const pid = hollow.pid;
    const cpuBefore = cpuSeconds(pid);
    await sleep(10_000);
    const cpuPercent = ((cpuSeconds(pid) - cpuBefore) / 10) * 100;
    const rssMB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
    console.log(`1,000 hollow nodes: RSS ${rssMB.toFixed(0)} MB idle`);
    console.log(`1,000 hollow nodes: all registered Ready ${registeredMs} ms after the process started (${internalMs ?? "?"} ms after it began registering); every lease renewed again within ${renewedMs} ms; steady CPU ${cpuPercent.toFixed(1)}% of one core`);
    expect(registeredMs).toBeLessThan(120_000);
  }, 240_000);

  it("runs a Deployment's pods on them through the scheduler and the controller-manager: Running, with IPs from the podCIDRs", async () => {
    const master = ["--kubeconfig", cluster.kubeconfig];
    const scheduler = startComponent("kube-scheduler", master, "scheduler-hollow");
    const cm = startComponent("kube-controller-manager", [...master, "--allocate-node-cidrs", "--cluster-cidr=10.244.0.0/14"], "controller-manager-hollow");
    try {
      await waitFor("every node has a podCIDR", async () => (await client.listAll<Node>(NODES, undefined, { labelSelector: "type=hollow" })).items.every((n) => n.spec?.podCIDR) || undefined, 120_000, 1000);
      const replicas = 200;
      const started = Date.now();
      await client.create(RESOURCES.find((r) => r.resource === "deployments")!, "default", {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: { replicas, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } } },
      });
      const running = await waitFor(`${replicas} pods Running with IPs`, async () => {
        const pods = (await client.listAll<Pod>(PODS, "default", { labelSelector: "app=web" })).items;
        const ok = pods.filter((p) => p.status?.phase === "Running" && p.status.podIP && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        return ok.length === replicas ? ok : undefined;
      }, 180_000, 1000);
      console.log(`Deployment of ${replicas} on 1,000 hollow nodes: all Running and Ready in ${Date.now() - started} ms`);
      expect(new Set(running.map((p) => p.status?.podIP)).size).toBe(replicas);
      expect(running.every((p) => /^10\.24[4-7]\.\d+\.\d+$/.test(p.status?.podIP ?? ""))).toBe(true);
      expect(running.every((p) => p.spec?.nodeName?.startsWith("big-"))).toBe(true);
    } finally {
      await scheduler.kill();
      await cm.kill();
    }
  }, 240_000);
});
