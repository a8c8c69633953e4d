// `kubelab up` for real, as root: the CLI (dist/lab/main.js, build first) makes a lab with its own bridge, node
// network and namespace prefix (random, so it never meets a user's lab at kubelab0/172.30.0.0/16), and the test
// drives it only through the CLI, kubectl and the nodes' CRI sockets. Until a kubelet is built, the first two labs
// run their nodes' runtimes only (--without-kubelet); the third (kubelets, kube-proxies and the cluster DNS: pods,
// Services, names, NodePorts) needs dist/kubelet, dist/kube-proxy and dist/cluster-dns and says so when one is
// missing. Every lab is taken down in afterAll (by `kubelab down`, then by hand if that failed) and the host is
// checked for leftovers: processes, namespaces, the bridge, firewall rules, mounts, cgroups, files.
import { execFile, type ExecFileException } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CriClient } from "../../client/cri/client.js";
import { containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec } from "../../client/cri/types.js";
import { waitFor } from "../../test/support/apiserver.js";
import { distEntry } from "../components/entries.js";
import { freePort } from "../process/ports.js";
import type { ComponentStatus, LabStatus } from "./control.js";
import { cgroupDirs, firewallLeftovers, killProcesses, labProcesses, linkExists, mountsUnder, netnsExists, processesMentioning, removeFirewall, run } from "./host.js";
import { readState, type LabState } from "./state.js";

const execFileAsync = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const tools = ["/usr/sbin/runc", "/usr/bin/conmon", "/usr/lib/cni/ptp", "/bin/busybox", "/usr/bin/nsenter"].every((p) => existsSync(p));
const built = ["lab", "apiserver", "scheduler", "controller-manager", "container-runtime"].every((p) => existsSync(distEntry(p as "lab")));
const skip = !isRoot || !tools || !built;
if (skip) console.warn(`lab.int.test: skipped: needs root (${isRoot}), runc/conmon/CNI plugins/busybox-static/nsenter (${tools}) and a build (npm run build: ${built})`);
const haveKubelet = (["kubelet", "kube-proxy", "cluster-dns"] as const).every((p) => existsSync(distEntry(p)));
if (!skip && !haveKubelet) console.warn("lab.int.test: the full lab (Ready nodes, pods, Services, DNS) is skipped: dist/kubelet, dist/kube-proxy or dist/cluster-dns is not built (npm run build)");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kubelab ARGS` and resolves with its exit code and output (never rejects on a non-zero exit). */
async function kubelab(args: readonly string[], timeoutMs = 180_000): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [distEntry("lab"), ...args], { encoding: "utf8", timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as ExecFileException & { stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function ok(args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await kubelab(args, timeoutMs);
  if (result.code !== 0) throw new Error(`kubelab ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Whether a process exists and is not a zombie. */
function running(pid: string): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/** One lab's names, all unique to this run. */
class TestLab {
  readonly id = Math.random().toString(16).slice(2, 6);
  readonly home = `/tmp/kubelab-labtest-${this.id}`;
  readonly bridge = `klt${this.id}`;
  readonly netnsPrefix = `klt${this.id}`;
  readonly subnet = 100 + Math.floor(Math.random() * 150);
  readonly nodeNetwork = `172.29.${this.subnet}.0/24`;
  readonly bridgeIp = `172.29.${this.subnet}.1`;
  apiserverPort = 0;
  /** The apiserver's secure port (a free one: labs of parallel runs must not race for 6443). */
  securePort = 0;
  private state: LabState | undefined;

  nodeIp(index: number): string {
    return `172.29.${this.subnet}.${10 + index}`;
  }

  netns(index: number): string {
    return `${this.netnsPrefix}-node-${index}`;
  }

  async up(nodes: number, withKubelet: boolean): Promise<string> {
    this.apiserverPort = await freePort();
    this.securePort = await freePort();
    const args = ["up", "--home", this.home, "--nodes", String(nodes), "--bridge", this.bridge, "--node-network", this.nodeNetwork, "--netns-prefix", this.netnsPrefix, "--apiserver-port", String(this.apiserverPort), "--secure-port", String(this.securePort), "--timeout", "150s", "--ui-port", "0"];
    const result = await kubelab(withKubelet ? args : [...args, "--without-kubelet"]);
    this.state = readState(this.home);
    if (result.code !== 0) throw new Error(`kubelab up exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${this.log("supervisor.log")}`);
    return result.stdout;
  }

  log(file: string): string {
    try {
      return readFileSync(join(this.home, "logs", file), "utf8").slice(-4_000);
    } catch {
      return "";
    }
  }

  args(...rest: string[]): string[] {
    return [...rest, "--home", this.home];
  }

  /** `kubelab node-exec NODE --home H -- COMMAND...` */
  nodeExec(node: string, ...command: string[]): Promise<string> {
    return ok(["node-exec", node, "--home", this.home, "--", ...command]);
  }

  async status(): Promise<LabStatus> {
    return JSON.parse(await ok(this.args("status", "-o", "json"))) as LabStatus;
  }

  async component(kind: string, node?: string): Promise<ComponentStatus> {
    const found = (await this.status()).components.find((c) => c.component === kind && c.node === node);
    if (found === undefined) throw new Error(`no ${kind} ${node ?? ""} in the status`);
    return found;
  }

  /** What is left on the host of this lab. */
  async leftovers(): Promise<string[]> {
    // The lab's own processes carry its mark; conmon and runc name the node's directories on their command line.
    const found = [...new Set([...labProcesses(this.home), ...processesMentioning(`${this.home}/`)])].map((pid) => `process ${pid}`);
    for (let i = 1; i <= 4; i++) if (netnsExists(this.netns(i))) found.push(`netns ${this.netns(i)}`);
    if (linkExists(this.bridge)) found.push(`bridge ${this.bridge}`);
    found.push(...(await firewallLeftovers({ bridge: this.bridge, home: this.home })).map((r) => `iptables ${r}`));
    found.push(...mountsUnder(this.home).map((m) => `mount ${m}`));
    if (existsSync(this.home)) found.push(`directory ${this.home}`);
    return found;
  }

  /** `kubelab down`, then by hand whatever it left (so that a failed test still leaves the host clean). */
  async tearDown(): Promise<Result> {
    const result = await kubelab(this.args("down"), 120_000);
    killProcesses(labProcesses(this.home));
    for (let i = 1; i <= 4; i++) await run(["ip", "netns", "delete", this.netns(i)]).catch(() => undefined);
    if (linkExists(this.bridge)) await run(["ip", "link", "delete", this.bridge]).catch(() => undefined);
    if (this.state) await removeFirewall(this.state.config);
    for (const point of mountsUnder(this.home)) await run(["umount", "-R", "-l", point]).catch(() => undefined);
    await run(["rm", "-rf", this.home]).catch(() => undefined);
    return result;
  }
}

describe.skipIf(skip)("kubelab up (nodes running their runtime only)", () => {
  const lab = new TestLab();
  let downResult: Result | undefined;

  afterAll(async () => {
    const result = downResult ?? (await lab.tearDown());
    if (downResult === undefined) expect(result.code, result.stderr).toBe(0);
    expect(await lab.leftovers()).toEqual([]);
  }, 180_000);

  it("starts the control plane and two nodes, each a namespace with its own IP on the lab bridge", async () => {
    const out = await lab.up(2, false);
    for (const name of ["etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kube-state-metrics", "container-runtime node-1", "container-runtime node-2"]) expect(out).toMatch(new RegExp(`${name}: ready in`));
    expect(out).toContain(`export KUBECONFIG=${lab.home}/kubeconfig`);
    expect(out).toContain("--allocate-node-cidrs --cluster-cidr=10.244.0.0/16");
    expect(netnsExists(lab.netns(1)) && netnsExists(lab.netns(2))).toBe(true);

    // The host reaches the nodes over the bridge; the nodes reach each other and the apiserver on the bridge address.
    await run(["busybox", "ping", "-c1", "-W3", lab.nodeIp(1)]);
    expect(await lab.nodeExec("node-1", "busybox", "ping", "-c1", "-W3", lab.nodeIp(2))).toContain("1 packets received");
    // The apiserver is HTTPS only (the lab is secure by default); /version answers anyone who trusts the lab's CA.
    const version = await lab.nodeExec("node-2", "curl", "-sS", "-m", "5", "--cacert", join(lab.home, "pki", "ca.crt"), `https://${lab.bridgeIp}:${lab.securePort}/version`);
    expect(JSON.parse(version)).toMatchObject({ major: "1" });
    // Nothing but the lab's addresses is routed from a node.
    const routes = await lab.nodeExec("node-1", "ip", "-4", "route");
    expect(routes).not.toContain("default");
    expect(readFileSync(join(lab.home, "kubeconfig"), "utf8")).toContain(`server: https://${lab.bridgeIp}:${lab.securePort}`);
    const kubectl = await execFileAsync("kubectl", ["--kubeconfig", join(lab.home, "kubeconfig"), "--cache-dir", join(lab.home, "kubectl-cache"), "get", "ns", "-o", "name"], { encoding: "utf8" });
    expect(kubectl.stdout).toContain("namespace/default");
  });

  it("lists every component running and healthy in kubelab status", async () => {
    const status = await waitFor("every component healthy", async () => {
      const s = await lab.status();
      return s.components.every((c) => c.health === "ok") ? s : undefined;
    }, 20_000, 500);
    expect(status.phase).toBe("up");
    expect(status.components.map((c) => [c.component, c.node ?? "-", c.state, c.restarts])).toEqual([
      ["etcd", "-", "running", 0],
      ["kube-apiserver", "-", "running", 0],
      ["kube-scheduler", "-", "running", 0],
      ["kube-controller-manager", "-", "running", 0],
      ["kube-state-metrics", "-", "running", 0],
      ["kubelab-ui", "-", "running", 0],
      ["container-runtime", "node-1", "running", 0],
      ["container-runtime", "node-2", "running", 0],
    ]);
    for (const c of status.components) expect(c.pid).toBeGreaterThan(0);
    expect(status.nodes).toEqual([
      { name: "node-1", ip: lab.nodeIp(1), netns: lab.netns(1) },
      { name: "node-2", ip: lab.nodeIp(2), netns: lab.netns(2) },
    ]);
    const table = await ok(lab.args("status"));
    expect(table).toMatch(/container-runtime\s+node-2\s+\d+\s+running\s+0/);
  });

  it("restarts a killed runtime and counts it; stop keeps it down until start", async () => {
    const before = await lab.component("container-runtime", "node-1");
    expect(await ok(lab.args("kill", "runtime", "--node", "node-1"))).toContain("sent SIGKILL");
    const after = await waitFor("the runtime restarted", async () => {
      const c = await lab.component("container-runtime", "node-1");
      return c.restarts === 1 && c.state === "running" && c.health === "ok" ? c : undefined;
    }, 20_000, 300);
    expect(after.pid).not.toBe(before.pid);
    expect(await ok(lab.args("logs", "runtime", "--node", "node-1"))).toContain("killed by SIGKILL; restarting in");

    await ok(lab.args("stop", "runtime", "--node", "node-2"));
    const stopped = await lab.component("container-runtime", "node-2");
    expect(stopped).toMatchObject({ state: "stopped", restarts: 0 });
    expect(stopped.pid).toBeUndefined();
    await ok(lab.args("start", "runtime", "--node", "node-2"));
    expect(await lab.component("container-runtime", "node-2")).toMatchObject({ state: "running", restarts: 0, health: "ok" });

    const wrong = await kubelab(lab.args("kill", "runtime"));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("runs on every node: say which with --node");
  });

  it("adds and removes a node", async () => {
    expect(await ok(lab.args("add-node"))).toContain(`node-3: ${lab.nodeIp(3)} in network namespace ${lab.netns(3)}`);
    await waitFor("node-3's runtime healthy", async () => (await lab.component("container-runtime", "node-3")).health === "ok" || undefined, 30_000, 300);
    expect(await lab.nodeExec("node-3", "busybox", "ping", "-c1", "-W3", lab.nodeIp(1))).toContain("1 packets received");
    expect(await ok(lab.args("remove-node", "node-3"))).toContain("node-3: removed");
    expect(netnsExists(lab.netns(3))).toBe(false);
    expect(existsSync(join(lab.home, "nodes", "node-3"))).toBe(false);
    expect((await lab.status()).nodes.map((n) => n.name)).toEqual(["node-1", "node-2"]);
  });

  it("is gone after kubelab down: no process, namespace, bridge, firewall rule, mount or file", async () => {
    downResult = await lab.tearDown();
    expect(downResult.code, downResult.stderr).toBe(0);
    expect(downResult.stdout).toContain("is down");
    expect(await lab.leftovers()).toEqual([]);
  });
});

describe.skipIf(skip)("kubelab down after kill -9 of the supervisor", () => {
  const lab = new TestLab();

  afterAll(async () => {
    await lab.tearDown();
    expect(await lab.leftovers()).toEqual([]);
  }, 180_000);

  it("removes the lab and its pods' containers, namespaces, mounts and cgroups", async () => {
    await lab.up(1, false);
    // A pod on node-1, made through its CRI socket as a kubelet would.
    const client = new CriClient(join(lab.home, "nodes", "node-1", "runtime.sock"), { timeoutMs: 60_000 });
    let podId = "";
    let pid = "";
    try {
      await client.pullImage({ image: imageSpec("busybox") });
      const pod = sandboxConfig(`sleeper-${lab.id}`, { logDirectory: join(lab.home, "nodes", "node-1", "pods", "sleeper") });
      podId = await client.runPodSandbox(pod);
      const id = await client.createContainer({ podSandboxId: podId, config: containerConfig("sleeper", "busybox", { command: ["sleep", "3600"] }), sandboxConfig: pod });
      await client.startContainer(id);
      pid = (await client.containerStatus(id)).info.pid ?? "";
      expect((await client.podSandboxStatus(podId)).status.network?.ip).toMatch(/^10\.244\.1\.\d+$/);
    } finally {
      client.close();
    }
    expect(pid).toMatch(/^\d+$/);
    expect(netnsExists(`kubelab-${podId}`.slice(0, 64))).toBe(true);

    const state = readState(lab.home);
    const supervisorPid = state?.supervisorPid ?? 0;
    expect(supervisorPid).toBeGreaterThan(0);
    process.kill(supervisorPid, "SIGKILL");
    await waitFor("the supervisor gone", () => !existsSync(`/proc/${supervisorPid}`) || undefined);
    const unreachable = await kubelab(lab.args("status"));
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("its supervisor is not running");

    const down = await lab.tearDown();
    expect(down.code, `${down.stdout}\n${down.stderr}`).toBe(0);
    // Dead: gone, or a zombie left for PID 1 to reap (this machine's init reaps late).
    expect(running(pid)).toBe(false);
    expect(netnsExists(`kubelab-${podId}`.slice(0, 64))).toBe(false);
    expect(cgroupDirs(`/kubelab/pod-${podId.slice(0, 12)}`)).toEqual([]);
    expect(await lab.leftovers()).toEqual([]);
  });
});

describe.skipIf(skip || !haveKubelet)("kubelab up with kubelets", () => {
  const lab = new TestLab();
  const kubectl = async (...args: string[]): Promise<string> =>
    (await execFileAsync("kubectl", ["--kubeconfig", join(lab.home, "kubeconfig"), "--cache-dir", join(lab.home, "kubectl-cache"), ...args], { encoding: "utf8", timeout: 60_000 })).stdout;

  afterAll(async () => {
    const down = await lab.tearDown();
    expect(down.code, down.stderr).toBe(0);
    expect(await lab.leftovers()).toEqual([]);
  }, 180_000);

  let upOutput = "";

  it("returns with every node Ready and runs a busybox pod with an IP from its node's podCIDR", async () => {
    const out = await lab.up(2, true);
    upOutput = out;
    expect(out).toContain("node-1: Ready");
    expect(out).toContain("node-2: Ready");
    const nodes = JSON.parse(await kubectl("get", "nodes", "-o", "json")) as { items: { metadata: { name: string }; spec: { podCIDR?: string }; status: { addresses: { type: string; address: string }[] } }[] };
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(["node-1", "node-2"]);
    for (const node of nodes.items) {
      expect(node.spec.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(node.status.addresses).toContainEqual({ type: "InternalIP", address: lab.nodeIp(Number(node.metadata.name.slice("node-".length))) });
    }
    expect((await lab.status()).components.filter((c) => c.component === "kubelet").map((c) => c.state)).toEqual(["running", "running"]);

    await kubectl("run", "sleeper", "--image=busybox", "--restart=Never", "--", "sleep", "3600");
    const pod = await waitFor("the pod Running", async () => {
      const p = JSON.parse(await kubectl("get", "pod", "sleeper", "-o", "json")) as { spec: { nodeName?: string }; status: { phase?: string; podIP?: string } };
      return p.status.phase === "Running" && p.status.podIP ? p : undefined;
    }, 90_000, 500);
    const node = nodes.items.find((n) => n.metadata.name === pod.spec.nodeName);
    const cidr = node?.spec.podCIDR ?? "";
    expect(pod.status.podIP?.startsWith(cidr.split(".").slice(0, 3).join("."))).toBe(true);
    // Reachable from the other node through the kubelets' host-gw routes.
    const other = pod.spec.nodeName === "node-1" ? "node-2" : "node-1";
    expect(await lab.nodeExec(other, "busybox", "ping", "-c1", "-W3", pod.status.podIP ?? "")).toContain("1 packets received");
  }, 240_000);

  it("runs kube-proxy on every node and the cluster DNS add-on, which is available when up returns", async () => {
    expect(upOutput).toMatch(/kube-proxy node-1: ready in/);
    expect(upOutput).toMatch(/kube-proxy node-2: ready in/);
    expect(upOutput).toMatch(/node-1: kubelab\/dns image loaded/);
    expect(upOutput).toMatch(/cluster DNS: kube-dns available \(2\/2\) at 10\.96\.0\.10/);
    const proxies = (await lab.status()).components.filter((c) => c.component === "kube-proxy");
    expect(proxies.map((c) => [c.node, c.state])).toEqual([["node-1", "running"], ["node-2", "running"]]);
    expect(proxies[0]?.command).toContain("--proxy-mode=iptables");
    const service = JSON.parse(await kubectl("-n", "kube-system", "get", "service", "kube-dns", "-o", "json")) as { spec: { clusterIP: string } };
    expect(service.spec.clusterIP).toBe("10.96.0.10");
    // Restarted when killed, like every lab component.
    expect(await ok(lab.args("kill", "kube-proxy", "--node", "node-2"))).toContain("sent SIGKILL");
    await waitFor("kube-proxy node-2 back", async () => {
      const c = await lab.component("kube-proxy", "node-2");
      return c.restarts === 1 && c.state === "running" && c.health === "ok" ? c : undefined;
    }, 30_000, 300);
  }, 60_000);

  it("carries a Service's traffic: ClusterIP and DNS names from a pod, NodePort from the host, rules in the node's tables only", async () => {
    await kubectl("create", "deployment", "kubernetes-bootcamp", "--image=jocatalin/kubernetes-bootcamp:v1", "--replicas=2");
    await kubectl("expose", "deployment", "kubernetes-bootcamp", "--type=NodePort", "--port=80", "--target-port=8080");
    const service = JSON.parse(await kubectl("get", "service", "kubernetes-bootcamp", "-o", "json")) as { spec: { clusterIP: string; ports: { nodePort?: number }[] } };
    const clusterIp = service.spec.clusterIP;
    const nodePort = service.spec.ports[0]?.nodePort ?? 0;
    expect(clusterIp).toMatch(/^10\.(9[6-9]|10\d|11[01])\./);
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    await waitFor("both bootcamp pods available", async () => {
      const d = JSON.parse(await kubectl("get", "deployment", "kubernetes-bootcamp", "-o", "json")) as { status: { availableReplicas?: number } };
      return d.status.availableReplicas === 2 || undefined;
    }, 120_000, 500);

    // From the busybox pod: the ClusterIP, the full DNS name and the short one (the pod's search path). Busybox
    // 1.35's `wget -T` crashes, hence `timeout`.
    const fromPod = (url: string): Promise<string> =>
      waitFor(`${url} from a pod`, async () => {
        const answer = await kubectl("exec", "sleeper", "--", "timeout", "5", "wget", "-qO-", url).catch(() => "");
        return answer.includes("Running on: kubernetes-bootcamp-") ? answer : undefined;
      }, 30_000, 500);
    await fromPod(`http://${clusterIp}`);
    await fromPod("http://kubernetes-bootcamp.default.svc.cluster.local");
    await fromPod("http://kubernetes-bootcamp");

    // From the host: the NodePort on each node's IP.
    for (const index of [1, 2]) {
      const answer = await waitFor(`NodePort on node-${index}`, async () => {
        const response = await fetch(`http://${lab.nodeIp(index)}:${nodePort}/`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
        return response?.ok ? await response.text() : undefined;
      }, 30_000, 500);
      expect(answer).toMatch(/Running on: kubernetes-bootcamp-/);
    }

    // The rules are in the node's own tables, commented with the Service's name; the host's hold none of them.
    const nat = await lab.nodeExec("node-1", "iptables-save", "-t", "nat");
    expect(nat).toMatch(/-A KUBE-SERVICES -d 10\.[\d.]+\/32 .*default\/kubernetes-bootcamp/);
    expect(nat.split("\n").filter((line) => line.includes(`${clusterIp}/32`) && line.includes("default/kubernetes-bootcamp")).length).toBeGreaterThan(0);
    const hostNat = await run(["iptables-save", "-t", "nat"]);
    expect(hostNat.split("\n").filter((line) => line.includes(`${clusterIp}/32`) || line.includes(`--dport ${nodePort} `))).toEqual([]);

    // A node added later gets its kube-proxy and the DNS image, and serves the NodePort too.
    expect(await ok(lab.args("add-node"), 180_000)).toContain("node-3: Ready");
    expect(readFileSync(join(lab.home, "logs", "supervisor.log"), "utf8")).toContain("node-3: kubelab/dns image loaded");
    expect((await lab.component("kube-proxy", "node-3")).state).toBe("running");
    const fromNode3 = await waitFor("NodePort on node-3", async () => {
      const response = await fetch(`http://${lab.nodeIp(3)}:${nodePort}/`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
      return response?.ok ? await response.text() : undefined;
    }, 30_000, 500);
    expect(fromNode3).toMatch(/Running on: kubernetes-bootcamp-/);
  }, 240_000);
});
