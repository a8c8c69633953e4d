// The control-plane half of the scenarios, across real processes: etcd, the apiserver, two leader-elected
// schedulers and controller-managers, and simulated nodes (kubelab hollow-nodes), driven with the real kubectl.
// Timings are the lab's shortened ones (node grace 4 s, default tolerations 3 s, leases 3 s).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, waitFor, type TestCluster } from "../support/apiserver.js";
import { startComponent, type ComponentProcess } from "../support/components.js";

interface PodJson {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string; controller?: boolean }[]; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

const LEADER_FLAGS = ["--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=500ms"];

describe("the control plane on three simulated nodes", () => {
  let cluster: TestCluster;
  const components: ComponentProcess[] = [];
  let schedulers: ComponentProcess[] = [];
  let managers: ComponentProcess[] = [];
  let nodeC: ComponentProcess;
  const k = (...args: string[]) => cluster.kubectl(args);
  const kFail = (...args: string[]) => cluster.kubectl(args, { allowFailure: true });

  const pods = async (selector: string): Promise<PodJson[]> => {
    const out = await k("get", "pods", "-l", selector, "-o", "json");
    return (JSON.parse(out.stdout) as { items: PodJson[] }).items;
  };
  const isReady = (p: PodJson): boolean => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  const livePods = async (selector: string): Promise<PodJson[]> => (await pods(selector)).filter((p) => !p.metadata.deletionTimestamp);

  const hollow = (name: string, ...args: string[]): ComponentProcess => {
    const proc = startComponent("kubelab", ["hollow-nodes", "--kubeconfig", cluster.kubeconfig, "--lease-duration=4s", "--lease-renew-interval=1s", "--node-status-update-frequency=1s", ...args], name);
    components.push(proc);
    return proc;
  };

  beforeAll(async () => {
    cluster = await startTestCluster(["--default-not-ready-toleration-seconds=3", "--default-unreachable-toleration-seconds=3"]);
    const master = ["--kubeconfig", cluster.kubeconfig, "--port", "0"];
    schedulers = [0, 1].map((i) => startComponent("kube-scheduler", [...master, ...LEADER_FLAGS], `scheduler-${i}`));
    managers = [0, 1].map((i) =>
      startComponent("kube-controller-manager", [...master, ...LEADER_FLAGS, "--node-monitor-period=1s", "--node-monitor-grace-period=4s", "--allocate-node-cidrs"], `controller-manager-${i}`),
    );
    components.push(...schedulers, ...managers);
    hollow("nodes-0-1", "--count", "2", "--name-prefix", "node");
    nodeC = hollow("node-2", "--count", "1", "--name-prefix", "node", "--start-index", "2");
  });

  afterAll(async () => {
    for (const c of components) await c.kill();
    await cluster.destroy();
  });

  it("registers three Ready nodes with pod CIDRs from node IPAM", async () => {
    await waitFor("three Ready nodes", async () => {
      const out = await kFail("get", "nodes", "--no-headers");
      return (out.stdout.match(/\sReady\s/g) ?? []).length === 3 || undefined;
    }, 30_000);
    // Node IPAM allocates after the controller-manager leads, independently of Ready (these nodes do not wait for it).
    const cidrs = await waitFor("a podCIDR on each node", async () => {
      const out = (await k("get", "nodes", "-o", `jsonpath={range .items[*]}{.spec.podCIDR}{"\\n"}{end}`)).stdout.split("\n").filter((c) => c !== "");
      return out.length === 3 ? out : undefined;
    }, 30_000);
    expect(new Set(cidrs).size).toBe(3);
    for (const cidr of cidrs) expect(cidr).toMatch(/^10\.244\.\d+\.0\/24$/);
  });

  it("runs a deployment: the scheduler binds, the controllers create and report", async () => {
    await k("create", "deployment", "kubernetes-bootcamp", "--image=jocatalin/kubernetes-bootcamp:v1");
    await waitFor("1/1 available", async () => (await k("get", "deploy", "kubernetes-bootcamp", "-o", "jsonpath={.status.availableReplicas}")).stdout === "1" || undefined, 30_000);
    const [pod] = await pods("app=kubernetes-bootcamp");
    expect(pod?.metadata.name).toMatch(/^kubernetes-bootcamp-[a-z0-9]+-[a-z0-9]{5}$/);
    expect(pod?.metadata.labels?.["pod-template-hash"]).toBeTruthy();
    expect(pod?.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ReplicaSet", controller: true });
    expect(pod?.spec.nodeName).toMatch(/^node-[012]$/);
    expect(pod?.status.phase).toBe("Running");
    const describe = await k("describe", "pod", pod!.metadata.name);
    expect(describe.stdout).toMatch(/Controlled By:\s+ReplicaSet\/kubernetes-bootcamp-/);
    expect(describe.stdout).toMatch(/Scheduled\s+.*default-scheduler\s+Successfully assigned default\/kubernetes-bootcamp-/);
    expect((await k("get", "deployments")).stdout).toMatch(/^kubernetes-bootcamp\s+1\/1\s+1\s+1\s+/m);
  });

  it("scales to 4 across the nodes, then back to 2", async () => {
    await k("scale", "deployments/kubernetes-bootcamp", "--replicas=4");
    await waitFor("4 ready pods", async () => (await livePods("app=kubernetes-bootcamp")).filter(isReady).length === 4 || undefined, 30_000);
    const nodes = new Set((await livePods("app=kubernetes-bootcamp")).map((p) => p.spec.nodeName));
    expect(nodes.size).toBeGreaterThanOrEqual(2);
    await k("scale", "deployments/kubernetes-bootcamp", "--replicas=2");
    await waitFor("2 pods left", async () => (await pods("app=kubernetes-bootcamp")).length === 2 || undefined, 30_000);
    const describe = await k("describe", "deployments/kubernetes-bootcamp");
    expect(describe.stdout).toMatch(/Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable/);
    expect(describe.stdout).toMatch(/ScalingReplicaSet/);
  });

  it("rolls out a new image without dropping below the available minimum, and rolls back by revision", async () => {
    // Watch every pod change; at any moment, count ready pods of the deployment.
    const watch = spawn("kubectl", ["--kubeconfig", cluster.kubeconfig, "--cache-dir", join(cluster.workDir, "watch-cache"), "get", "pods", "-l", "app=kubernetes-bootcamp", "-w", "-o", "json"], { stdio: ["ignore", "pipe", "ignore"] });
    const ready = new Map<string, boolean>();
    let minReady = Infinity;
    let buffer = "";
    watch.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      // kubectl -w -o json prints one pretty-printed object per event; split on the top-level closing brace.
      let end: number;
      while ((end = buffer.indexOf("\n}\n")) >= 0) {
        const text = buffer.slice(0, end + 2);
        buffer = buffer.slice(end + 3);
        const pod = JSON.parse(text) as PodJson;
        ready.set(pod.metadata.name, isReady(pod) && !pod.metadata.deletionTimestamp);
        if (ready.size >= 2) minReady = Math.min(minReady, [...ready.values()].filter(Boolean).length);
      }
    });
    try {
      await waitFor("the watch to list the pods", () => ready.size >= 2 || undefined);
      await k("set", "image", "deployments/kubernetes-bootcamp", "kubernetes-bootcamp=jocatalin/kubernetes-bootcamp:v2");
      const status = await cluster.kubectl(["rollout", "status", "deployments/kubernetes-bootcamp", "--timeout=60s"], { timeoutMs: 70_000 });
      expect(status.stdout).toContain(`deployment "kubernetes-bootcamp" successfully rolled out`);
    } finally {
      watch.kill();
    }
    expect(minReady).toBeGreaterThanOrEqual(2);
    expect((await k("get", "rs", "-l", "app=kubernetes-bootcamp", "--no-headers")).stdout.trim().split("\n")).toHaveLength(2);
    const history = await k("rollout", "history", "deployments/kubernetes-bootcamp");
    expect(history.stdout).toMatch(/^1\s+<none>$/m);
    expect(history.stdout).toMatch(/^2\s+<none>$/m);
    await k("rollout", "undo", "deployments/kubernetes-bootcamp");
    await k("rollout", "status", "deployments/kubernetes-bootcamp", "--timeout=60s");
    expect((await k("get", "deploy", "kubernetes-bootcamp", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).stdout).toBe("jocatalin/kubernetes-bootcamp:v1");
    expect((await k("rollout", "history", "deployments/kubernetes-bootcamp")).stdout).toMatch(/^3\s+<none>$/m);
    await k("rollout", "undo", "deployments/kubernetes-bootcamp", "--to-revision=2");
    await k("rollout", "status", "deployments/kubernetes-bootcamp", "--timeout=60s");
    expect((await k("get", "deploy", "kubernetes-bootcamp", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).stdout).toBe("jocatalin/kubernetes-bootcamp:v2");
    expect((await k("rollout", "history", "deployments/kubernetes-bootcamp")).stdout).toMatch(/^4\s+<none>$/m);
  });

  it("keeps a replication controller at 5 when its pods are deleted", async () => {
    await cluster.kubectl(["create", "-f", "-"], {
      stdin: JSON.stringify({ apiVersion: "v1", kind: "ReplicationController", metadata: { name: "lianjiatest.com" }, spec: { replicas: 5, selector: { name: "liutest" }, template: { metadata: { labels: { name: "liutest" } }, spec: { containers: [{ name: "apache", image: "fedora/apache", ports: [{ containerPort: 80 }] }] } } } }),
    });
    await waitFor("5 running pods", async () => (await livePods("name=liutest")).filter(isReady).length === 5 || undefined, 30_000);
    const victims = (await livePods("name=liutest")).slice(0, 2).map((p) => p.metadata.name);
    await k("delete", "pods", ...victims);
    await waitFor("5 running pods again", async () => {
      const live = await livePods("name=liutest");
      return (live.filter(isReady).length === 5 && live.every((p) => !victims.includes(p.metadata.name))) || undefined;
    }, 30_000);
    expect((await livePods("name=liutest")).length).toBe(5);
  });

  it("exposes a deployment: endpoints follow the ready pods", async () => {
    await k("expose", "deployment/kubernetes-bootcamp", "--type=NodePort", "--port", "8080");
    const addresses = async (): Promise<{ ready: number; notReady: number }> => {
      const out = await kFail("get", "endpoints", "kubernetes-bootcamp", "-o", "json");
      if (out.code !== 0) return { ready: 0, notReady: 0 };
      const ep = JSON.parse(out.stdout) as { subsets?: { addresses?: unknown[]; notReadyAddresses?: unknown[] }[] };
      return {
        ready: (ep.subsets ?? []).reduce((n, s) => n + (s.addresses?.length ?? 0), 0),
        notReady: (ep.subsets ?? []).reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0),
      };
    };
    await waitFor("2 ready endpoints", async () => (await addresses()).ready === 2 || undefined, 20_000);
    const describe = await k("describe", "svc", "kubernetes-bootcamp");
    expect(describe.stdout).toMatch(/Endpoints:\s+10\.244\.\d+\.\d+:8080,10\.244\.\d+\.\d+:8080/);
    const [first] = await livePods("app=kubernetes-bootcamp");
    await k("annotate", "pod", first!.metadata.name, "kubelab.io/hollow-unready=true");
    await waitFor("one endpoint not ready", async () => {
      const a = await addresses();
      return (a.ready === 1 && a.notReady === 1) || undefined;
    }, 20_000);
    await k("annotate", "pod", first!.metadata.name, "kubelab.io/hollow-unready-");
    await waitFor("both ready again", async () => (await addresses()).ready === 2 || undefined, 20_000);
  });

  it("keeps a pod that fits nowhere Pending with FailedScheduling, and binds it when a big node appears", async () => {
    await cluster.kubectl(["create", "-f", "-"], {
      stdin: JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "huge" }, spec: { containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "100" } } }] } }),
    });
    await waitFor("FailedScheduling", async () => {
      const out = await k("describe", "pod", "huge");
      return /FailedScheduling.*0\/3 nodes are available: 3 Insufficient cpu\./s.test(out.stdout) || undefined;
    }, 20_000);
    expect((await k("get", "pod", "huge", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].reason}")).stdout).toBe("Unschedulable");
    const big = hollow("big-node", "--count", "1", "--name-prefix", "big", "--cpu", "200");
    await waitFor("huge bound to big-0", async () => (await k("get", "pod", "huge", "-o", "jsonpath={.spec.nodeName}")).stdout === "big-0" || undefined, 30_000);
    await k("delete", "pod", "huge", "--wait=true");
    await big.kill();
    await k("delete", "node", "big-0");
  });

  it("evicts the pods of a dead node and replaces them on the others", async () => {
    await k("scale", "deployments/kubernetes-bootcamp", "--replicas=6");
    await waitFor("6 ready pods", async () => (await livePods("app=kubernetes-bootcamp")).filter(isReady).length === 6 || undefined, 30_000);
    const onC = (await livePods("app=kubernetes-bootcamp")).filter((p) => p.spec.nodeName === "node-2").map((p) => p.metadata.name);
    expect(onC.length).toBeGreaterThan(0);
    await nodeC.kill();
    await waitFor("node-2 NotReady", async () => /^node-2\s+NotReady/m.test((await k("get", "nodes", "--no-headers")).stdout) || undefined, 20_000);
    expect((await k("get", "node", "node-2", "-o", "jsonpath={.spec.taints[*].key}")).stdout).toContain("node.kubernetes.io/unreachable");
    await waitFor("replacements running elsewhere", async () => {
      const live = await livePods("app=kubernetes-bootcamp");
      const moved = live.filter(isReady).filter((p) => p.spec.nodeName !== "node-2");
      return (moved.length === 6 && live.every((p) => !onC.includes(p.metadata.name) || p.spec.nodeName !== "node-2")) || undefined;
    }, 40_000);
    nodeC.start();
    await waitFor("node-2 Ready again, untainted", async () => {
      const taints = (await k("get", "node", "node-2", "-o", "jsonpath={.spec.taints}")).stdout;
      return (/^node-2\s+Ready/m.test((await k("get", "nodes", "--no-headers")).stdout) && !taints.includes("unreachable")) || undefined;
    }, 30_000);
  });

  it("hands scheduling and control over to the standby when the leaders die, creating nothing twice", async () => {
    const leaseHolder = async (name: string): Promise<string> => (await k("get", "lease", name, "-n", "kube-system", "-o", "jsonpath={.spec.holderIdentity}")).stdout;
    const schedulerLeader = await leaseHolder("kube-scheduler");
    const managerLeader = await leaseHolder("kube-controller-manager");
    expect(schedulerLeader).not.toBe("");
    expect(managerLeader).not.toBe("");
    // Only the process holding the lease has logged that it started leading.
    for (const [group, lease] of [[schedulers, "kube-scheduler"], [managers, "kube-controller-manager"]] as const) {
      const before = await leaseHolder(lease);
      const leaders = group.filter((p) => p.logs().includes("started leading"));
      expect(leaders).toHaveLength(1);
      const leader = leaders[0];
      await leader!.kill();
      await waitFor(`${lease} lease taken over`, async () => {
        const now = await leaseHolder(lease);
        return (now !== "" && now !== before) || undefined;
      }, 20_000);
    }
    await k("scale", "deployments/kubernetes-bootcamp", "--replicas=3");
    await waitFor("exactly 3 ready pods", async () => {
      const live = await livePods("app=kubernetes-bootcamp");
      return (live.length === 3 && live.filter(isReady).length === 3) || undefined;
    }, 30_000);
    // Stability, not progress: give a duplicate creator (two leaders at once) a moment to show itself.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await livePods("app=kubernetes-bootcamp")).length).toBe(3);
    for (const proc of [...schedulers, ...managers]) if (!proc.running) proc.start();
  });

  it("leaves pods pending while no scheduler runs, and binds them when one starts again", async () => {
    for (const proc of schedulers) await proc.kill();
    await cluster.kubectl(["run", "waiting", "--image=nginx", "--restart=Never"]);
    // Nothing can bind it now: it stays unassigned for as long as we look.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await k("get", "pod", "waiting", "-o", "jsonpath={.spec.nodeName}")).stdout).toBe("");
    schedulers[0]!.start();
    await waitFor("waiting bound after the scheduler returns", async () => (await k("get", "pod", "waiting", "-o", "jsonpath={.spec.nodeName}")).stdout !== "" || undefined, 30_000);
    schedulers[1]!.start();
    await k("delete", "pod", "waiting");
  });

  it("finishes a rollout that the apiserver's death interrupted", async () => {
    await k("set", "image", "deployments/kubernetes-bootcamp", "kubernetes-bootcamp=jocatalin/kubernetes-bootcamp:v1");
    await cluster.apiserver.stop("SIGKILL");
    // The apiserver stays down for a moment while every component retries against it.
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.apiserver.restart();
    const status = await cluster.kubectl(["rollout", "status", "deployments/kubernetes-bootcamp", "--timeout=60s"], { timeoutMs: 70_000 });
    expect(status.stdout).toContain("successfully rolled out");
    expect((await livePods("app=kubernetes-bootcamp")).length).toBe(3);
  });

  it("deletes a deployment with its replica sets and pods", async () => {
    await k("delete", "deployment", "kubernetes-bootcamp");
    await waitFor("replica sets and pods gone", async () => {
      const rs = (await kFail("get", "rs", "-l", "app=kubernetes-bootcamp", "-o", "name")).stdout.trim();
      const ps = (await pods("app=kubernetes-bootcamp")).length;
      return (rs === "" && ps === 0) || undefined;
    }, 30_000);
    await k("delete", "rc", "lianjiatest.com");
    await waitFor("rc pods gone", async () => (await pods("name=liutest")).length === 0 || undefined, 30_000);
  });
});
