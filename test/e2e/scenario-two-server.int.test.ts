// The Kubernetes 0.18 two-server lab (../shared/scenarios/two-server.md) in both of kube-proxy's modes, one
// `kubelab up --insecure --nodes 3 --proxy-mode MODE` each (one after the other, each taken down in its afterAll;
// --insecure: this scenario IS the 0.18 setup, plain HTTP on the insecure port, every process with --master): the 0.18
// process split printed by the launcher (node-1's kube-proxy then run by hand from its printed line, as 0.18's users
// started every process; `kubelab down` ends it with the node), a ReplicationController that keeps 5 replicas, the
// Service `webserver` in front of them, its rules in a node's `iptables-save` (KUBE-SVC-/KUBE-SEP- chains in iptables mode,
// KUBE-PORTALS-CONTAINER/-HOST to kube-proxy's own port in userspace mode), and requests to ClusterIP:8080 from a
// node and from a pod answered by all 5 pods. The offline fedora/apache page is the same in every pod, so the user
// first writes each pod's name into its page with kubectl exec, as one does to tell backends apart.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/apiserver.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { applyManifest, kubectlShows, spreadOver } from "./scenario-support.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`scenario-two-server.int.test: skipped: ${prerequisites.reason}`);

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  status: { phase?: string; podIP?: string; containerStatuses?: { ready: boolean }[] };
}

const SETTLE_MS = 60_000;

const FEDORA_APACHE = `apiVersion: v1
kind: Pod
metadata:
  name: fedoraapache
  labels: {name: fedoraapache}
spec:
  containers:
  - name: fedoraapache
    image: fedora/apache
    ports: [{containerPort: 80, hostPort: 8080}]
`;

const REPLICATION_CONTROLLER = `apiVersion: v1
kind: ReplicationController
metadata: {name: lianjiatest.com}
spec:
  replicas: 5
  selector: {name: liutest}
  template:
    metadata: {labels: {name: liutest}}
    spec:
      containers:
      - name: web
        image: fedora/apache
        ports: [{containerPort: 80}]
`;

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: webserver}
spec:
  selector: {name: liutest}
  ports: [{port: 8080, targetPort: 80}]
`;

/** The pod name a page names, once the user has written it there. */
function namedPod(answer: string): string | undefined {
  return /^lianjiatest\.com-[a-z0-9]{5}$/.test(answer) ? answer : undefined;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe.skipIf(!prerequisites.ok).each(["iptables", "userspace"] as const)("the two-server lab, kube-proxy in %s mode", (mode) => {
  const lab = new TestLab(mode === "iptables" ? "e2e2ipt" : "e2e2usp");
  let started = 0;
  let upOutput = "";
  let upSeconds = 0;
  let clusterIP = "";
  /** node-1's kube-proxy as the user starts it by hand, and its exit. */
  let handStarted: ChildProcess | undefined;
  let handExited: Promise<void> = Promise.resolve();

  /** The command line `up` printed under "# COMPONENT". */
  const printedLine = (component: string): string => new RegExp(`# ${component}\\n\\s+(.*)`).exec(upOutput)?.[1] ?? "";

  /** The RC's pods that are not being deleted, once there are 5, all Running and Ready. */
  function fiveRunning(): Promise<Pod[]> {
    return waitFor("5 liutest pods Running", async () => {
      const all = (JSON.parse(await lab.kubectlOk("get", "pods", "-l", "name=liutest", "-o", "json")) as { items: Pod[] }).items;
      const live = all.filter((p) => p.metadata.deletionTimestamp === undefined);
      return live.length === 5 && live.every((p) => p.status.phase === "Running" && p.status.containerStatuses?.[0]?.ready === true) ? live : undefined;
    }, SETTLE_MS, 250);
  }

  beforeAll(async () => {
    started = Date.now();
    await lab.startOrTearDown(async () => {
      upOutput = await lab.up(3, ["--insecure", "--proxy-mode", mode]);
      upSeconds = (Date.now() - started) / 1000;
    });
  }, 180_000);

  afterAll(async () => {
    const downStarted = Date.now();
    const down = await lab.tearDown();
    // kubelab down ends the hand-started kube-proxy with the node's namespace (else the test does, by its pid).
    const ended = await Promise.race([handExited.then(() => true), new Promise<boolean>((r) => setTimeout(() => { r(false); }, 10_000))]);
    if (!ended) handStarted?.kill("SIGKILL");
    console.log(`scenario-two-server (${mode}): ${((Date.now() - started) / 1000).toFixed(1)} s in all; kubelab up ${upSeconds.toFixed(1)} s, teardown ${((Date.now() - downStarted) / 1000).toFixed(1)} s`);
    expect(down.code, `${down.stdout}\n${down.stderr}`).toBe(0);
    expect(ended, "the hand-started kube-proxy ended by kubelab down").toBe(true);
    expect(await lab.leftovers()).toEqual([]);
  }, 180_000);

  it("prints each process's command line, split as in 0.18", () => {
    const line = printedLine;
    expect(line("kube-apiserver")).toMatch(/--etcd-servers=http:\/\/127\.0\.0\.1:\d+ .*--insecure-port=\d+ .*--service-cluster-ip-range=10\.96\.0\.0\/12/);
    expect(line("kube-scheduler")).toMatch(/--master=http:\/\//);
    expect(line("kube-controller-manager")).toMatch(/--master=http:\/\//);
    expect(line("kubelet node-1")).toMatch(/--master=http:\/\/.* --hostname-override=node-1 /);
    expect(line("kube-proxy node-1")).toMatch(new RegExp(`--master=http://.* --proxy-mode=${mode}( |$)`));
  });

  it("the pod fedoraapache runs with its IP on a node and answers on that node's port 8080", async () => {
    expect(await applyManifest(lab, FEDORA_APACHE)).toContain("pod/fedoraapache created");
    const row = await waitFor("fedoraapache Running", async () => {
      const out = await lab.kubectlOk("get", "pods", "-o", "wide");
      return /^fedoraapache\s+1\/1\s+Running\s+0\s+\S+\s+(10\.244\.\d+\.\d+)\s+(node-\d)\s/m.exec(out) ?? undefined;
    }, SETTLE_MS, 250);
    const node = Number(row[2]?.slice("node-".length));
    const other = `node-${(node % 3) + 1}`;
    const page = await waitFor(`the page from ${other}`, async () => {
      const result = await lab.nodeExec(other, ["curl", "-s", "-m", "3", `http://${lab.nodeIp(node)}:8080/`]);
      return result.stdout.includes("Apache is working") ? result.stdout : undefined;
    }, 15_000, 200);
    expect(page).toContain("<title>Apache HTTP Server Test Page</title>");
  });

  it("a ReplicationController keeps 5 replicas: a deleted pod is replaced", async () => {
    expect(await applyManifest(lab, REPLICATION_CONTROLLER)).toContain("replicationcontroller/lianjiatest.com created");
    const first = await fiveRunning();
    await kubectlShows(lab, ["get", "rc"], /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nlianjiatest\.com\s+5\s+5\s+5\s/);
    const victim = first[0]?.metadata.name ?? "";
    expect(await lab.kubectlOk("delete", "pod", victim)).toContain(`pod "${victim}" deleted`);
    const after = await fiveRunning();
    expect(after.map((p) => p.metadata.name)).not.toContain(victim);
    // -o wide adds 0.18's other columns: CONTAINERS, IMAGES, SELECTOR.
    await kubectlShows(lab, ["get", "rc", "lianjiatest.com", "-o", "wide"], /^lianjiatest\.com\s+5\s+5\s+5\s+\S+\s+web\s+fedora\/apache\s+name=liutest$/m);
  });

  it("kube-proxy on node-1 runs by hand from the line up printed, after kubelab stop", async () => {
    expect(await lab.ok(["stop", "kube-proxy", "--node", "node-1"])).toContain("kube-proxy node-1: stopped");
    const [program, ...args] = printedLine("kube-proxy node-1").split(" ");
    const child = spawn(program ?? "false", args, { stdio: ["ignore", "ignore", "pipe"] });
    handStarted = child;
    handExited = new Promise((resolve) => child.on("exit", () => { resolve(); }));
    let log = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
    await waitFor("the hand-started kube-proxy syncing", () => log.includes("Caches synced; starting the proxier") || undefined, 30_000, 100);
    expect(log).toContain(`"mode":"${mode}"`);
  });

  it(`the Service webserver: kubectl get svc shows its ClusterIP; iptables-save on a node shows its ${mode} rules`, async () => {
    expect(await applyManifest(lab, SERVICE)).toContain("service/webserver created");
    const services = await lab.kubectlOk("get", "svc");
    expect(services).toMatch(/^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s/m);
    clusterIP = /^webserver\s+ClusterIP\s+(10\.\d+\.\d+\.\d+)\s+<none>\s+8080\/TCP\s/m.exec(services)?.[1] ?? "";
    expect(clusterIP).not.toBe("");
    const podIPs = (await fiveRunning()).map((p) => p.status.podIP ?? "");
    // kubectl lists three endpoints and counts the rest.
    await waitFor("5 endpoints", async () => /^webserver\s+(\d+\.\d+\.\d+\.\d+:80,){2}\d+\.\d+\.\d+\.\d+:80 \+ 2 more\.\.\.\s/m.exec(await lab.kubectlOk("get", "endpoints", "webserver")) ?? undefined, 15_000, 200);
    const endpoints = await lab.kubectlOk("get", "endpoints", "webserver", "-o", "jsonpath={.subsets[*].addresses[*].ip}");
    expect(endpoints.split(" ").sort()).toEqual([...podIPs].sort());
    const nodeIP = lab.nodeIp(1);

    if (mode === "iptables") {
      // KUBE-SERVICES → KUBE-SVC- (one random pick per pod) → KUBE-SEP- (DNAT to the pod), all commented.
      const nat = await waitFor("the 5 endpoints in node-1's rules", async () => {
        const saved = (await lab.nodeExec("node-1", ["iptables-save", "-t", "nat"])).stdout;
        return podIPs.every((ip) => saved.includes(`--to-destination ${ip}:80`)) ? saved : undefined;
      }, 15_000, 200);
      const svcChain = new RegExp(`^-A KUBE-SERVICES -d ${escape(clusterIP)}/32 -p tcp -m comment --comment "default/webserver cluster IP" -m tcp --dport 8080 -j (KUBE-SVC-[A-Z0-9]{16})$`, "m").exec(nat)?.[1];
      expect(svcChain, nat).toBeDefined();
      for (const ip of podIPs) {
        const sepChain = new RegExp(`^-A ${svcChain ?? "?"} -m comment --comment "default/webserver -> ${escape(ip)}:80"( -m statistic --mode random --probability [\\d.]+)? -j (KUBE-SEP-[A-Z0-9]{16})$`, "m").exec(nat)?.[2];
        expect(sepChain, `${ip} in ${nat}`).toBeDefined();
        expect(nat).toMatch(new RegExp(`^-A ${sepChain ?? "?"} -p tcp -m comment --comment "default/webserver" -m tcp -j DNAT --to-destination ${escape(ip)}:80$`, "m"));
      }
    } else {
      // Both portals send ClusterIP:8080 to one port on the node's address, and kube-proxy is what listens there.
      const nat = await waitFor("the portals in node-1's rules", async () => {
        const saved = (await lab.nodeExec("node-1", ["iptables-save", "-t", "nat"])).stdout;
        return saved.includes(`-d ${clusterIP}/32`) ? saved : undefined;
      }, 15_000, 200);
      expect(nat).toMatch(/^-A PREROUTING .*-j KUBE-PORTALS-CONTAINER$/m);
      expect(nat).toMatch(/^-A OUTPUT .*-j KUBE-PORTALS-HOST$/m);
      const portal = (chain: string): string | undefined =>
        new RegExp(`^-A ${chain} -d ${escape(clusterIP)}/32 -p tcp -m comment --comment "default/webserver" -m tcp --dport 8080 -j DNAT --to-destination ${escape(nodeIP)}:(\\d+)$`, "m").exec(nat)?.[1];
      const proxyPort = portal("KUBE-PORTALS-CONTAINER");
      expect(proxyPort, nat).toBeDefined();
      expect(portal("KUBE-PORTALS-HOST")).toBe(proxyPort);
      // (node-1's kube-proxy is the one started by hand; nsenter execs it, so the pid is its own)
      const proxyPid = handStarted?.pid;
      const listening = (await lab.nodeExec("node-1", ["ss", "-ltnpH", `sport = :${proxyPort ?? "0"}`])).stdout;
      expect(listening).toContain(`${nodeIP}:${proxyPort ?? "?"}`);
      expect(listening).toContain(`pid=${proxyPid ?? "?"},`);
    }
  });

  it("requests to ClusterIP:8080 from a node and from a pod are spread over all 5 pods", async () => {
    const pods = await fiveRunning();
    for (const pod of pods) await lab.kubectlOk("exec", pod.metadata.name, "--", "sh", "-c", "hostname > /var/www/html/index.html");
    const names = pods.map((p) => p.metadata.name).sort();
    const fromNode = await spreadOver(lab, { node: "node-2" }, `http://${clusterIP}:8080`, 5, namedPod);
    expect([...fromNode].sort()).toEqual(names);
    await lab.kubectlOk("run", "client", "--image=busybox", "--", "sleep", "3600");
    await waitFor("the client pod Running", async () => /client\s+1\/1\s+Running/.exec(await lab.kubectlOk("get", "pod", "client")) ?? undefined, SETTLE_MS, 250);
    const fromPod = await spreadOver(lab, { pod: "client" }, `http://${clusterIP}:8080`, 5, namedPod);
    expect([...fromPod].sort()).toEqual(names);
  });
});
