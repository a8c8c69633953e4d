// Pods on real nodes: ONE `kubelab up --nodes 3` (runtimes with the OCI backend, kubelets, host-gw routes) shared by
// every test here, driven as a user would drive it: the real kubectl with the lab's kubeconfig, `kubelab node-exec`,
// `kubelab kill/stop`, and runc's own state for the container processes a user would `kill -9`. The scenarios are
// the pod parts of ../shared/scenarios (bootcamp.md, two-server.md, self-healing.md). The lab is taken down in
// afterAll even when a test failed. Tests run in order; the node outage is last because it leaves a node down.
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/apiserver.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";

const execFileAsync = promisify(execFile);
const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`lab-pods.int.test: skipped: ${prerequisites.reason}`);

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; containerID?: string };
}

interface ContainerStatus {
  name: string;
  containerID?: string;
  restartCount: number;
  ready: boolean;
  state: ContainerState;
  lastState: ContainerState;
}

interface Pod {
  metadata: { name: string; uid?: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: ContainerStatus[] };
}

interface Node {
  metadata: { name: string };
  spec: { podCIDR?: string };
  status: { conditions?: { type: string; status: string }[] };
}

const lab = new TestLab("e2epods");
const SETTLE_MS = 60_000;

async function getPod(name: string): Promise<Pod | undefined> {
  const result = await lab.kubectl(["get", "pod", name, "-o", "json"]);
  return result.code === 0 ? (JSON.parse(result.stdout) as Pod) : undefined;
}

async function pods(selector: string): Promise<Pod[]> {
  return (JSON.parse(await lab.kubectlOk("get", "pods", "-l", selector, "-o", "json")) as { items: Pod[] }).items;
}

function container(pod: Pod | undefined): ContainerStatus | undefined {
  return pod?.status.containerStatuses?.[0];
}

function condition(pod: Pod, type: string): string | undefined {
  return pod.status.conditions?.find((c) => c.type === type)?.status;
}

/** Waits until the pod satisfies `check` and returns it. */
function waitPod(name: string, what: string, check: (pod: Pod) => boolean, timeoutMs = SETTLE_MS): Promise<Pod> {
  return waitFor(`pod ${name}: ${what}`, async () => {
    const pod = await getPod(name);
    return pod && check(pod) ? pod : undefined;
  }, timeoutMs, 250);
}

const running = (pod: Pod): boolean => pod.status.phase === "Running" && container(pod)?.state.running !== undefined;

/** kubectl apply -f - with the manifest on stdin. */
async function applyManifest(manifest: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile("kubectl", ["--kubeconfig", lab.kubeconfig, "--cache-dir", join(lab.home, "kubectl-cache"), "apply", "-f", "-"], { encoding: "utf8" }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`kubectl apply: ${stderr}`));
      else resolve();
    });
    child.stdin?.end(manifest);
  });
}

/** The host pid of a running container, from runc's state in the node's runtime root. */
async function containerPid(node: string, containerID: string): Promise<number> {
  const id = containerID.replace(/^[a-z-]+:\/\//, "");
  const { stdout } = await execFileAsync("runc", ["--root", join(lab.home, "nodes", node, "run", "runc"), "state", id], { encoding: "utf8" });
  return (JSON.parse(stdout) as { pid: number }).pid;
}

/** A cgroup controller's file for a process (v1: /sys/fs/cgroup/<controller>/<path>; v2: the unified file). */
function cgroupFile(pid: number, v1Controller: string, v1File: string, v2File: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  const v1 = lines.map((l) => l.split(":")).find(([, controllers]) => controllers?.split(",").includes(v1Controller));
  if (v1?.[2] !== undefined) return readFileSync(join("/sys/fs/cgroup", v1Controller, v1[2], v1File), "utf8").trim();
  const v2 = lines.find((l) => l.startsWith("0::"))?.slice(3) ?? "";
  return readFileSync(join("/sys/fs/cgroup", v2, v2File), "utf8").trim();
}

/** A node other than `node`. */
function otherNode(node: string): string {
  return ["node-1", "node-2", "node-3"].find((n) => n !== node) ?? "node-1";
}

/**
 * `wget -qO- http://IP:PORT` from a node, as a user would retry it while the server in a just-started container
 * opens its port; resolves with the answer once it contains `expected`.
 */
async function answerFrom(node: string, ip: string, port: number, expected: string): Promise<string> {
  let last = "";
  try {
    return await waitFor(`${expected} from http://${ip}:${port} on ${node}`, async () => {
      // (no -T: this busybox wget crashes with it)
      const result = await lab.nodeExec(node, ["busybox", "wget", "-qO-", `http://${ip}:${port}`], 10_000);
      last = `exit ${result.code}: ${result.stdout} ${result.stderr}`;
      return result.stdout.includes(expected) ? result.stdout : undefined;
    }, 15_000, 200);
  } catch (err) {
    throw new Error(`${String(err)}; last answer: ${last}`);
  }
}

function podManifest(name: string, spec: string, labels = ""): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: ${name}${labels}}
spec:
  terminationGracePeriodSeconds: 1
${spec}`;
}

describe.skipIf(!prerequisites.ok)("pods on a 3-node kubelab", () => {
  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      const out = await lab.up(3);
      for (const node of ["node-1", "node-2", "node-3"]) expect(out).toContain(`${node}: Ready`);
    });
  }, 180_000);

  afterAll(() => lab.downCleanly(), 180_000);

  it("runs the bootcamp deployment: pods Running with IPs from their node's podCIDR, answering from another node", async () => {
    await lab.kubectlOk("create", "deployment", "kubernetes-bootcamp", "--image=jocatalin/kubernetes-bootcamp:v1", "--replicas=3");
    const list = await waitFor("3 bootcamp pods Running", async () => {
      const found = await pods("app=kubernetes-bootcamp");
      return found.length === 3 && found.every((p) => running(p) && p.status.podIP) ? found : undefined;
    }, SETTLE_MS, 250);
    const nodes = (JSON.parse(await lab.kubectlOk("get", "nodes", "-o", "json")) as { items: Node[] }).items;
    for (const pod of list) {
      const cidr = nodes.find((n) => n.metadata.name === pod.spec.nodeName)?.spec.podCIDR ?? "";
      expect(cidr).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(pod.status.podIP?.split(".").slice(0, 3).join(".")).toBe(cidr.split(".").slice(0, 3).join("."));
      expect(await answerFrom(otherNode(pod.spec.nodeName ?? ""), pod.status.podIP ?? "", 8080, `Running on: ${pod.metadata.name}`)).toMatch(/^Hello Kubernetes bootcamp!/);
    }
  }, 90_000);

  it("shows a pod's logs, its environment through kubectl exec, and its events in describe", async () => {
    const [pod] = await pods("app=kubernetes-bootcamp");
    const name = pod?.metadata.name ?? "";
    const ip = pod?.status.podIP ?? "";
    await answerFrom("node-1", ip, 8080, name);
    expect(await lab.kubectlOk("logs", name)).toMatch(new RegExp(`Running On:\\s+${name}`));
    const env = await lab.kubectlOk("exec", name, "--", "env");
    expect(env).toContain(`HOSTNAME=${name}`);
    expect(env).toMatch(/^KUBERNETES_SERVICE_HOST=10\.96\.0\.1$/m);
    const describe = await lab.kubectlOk("describe", "pod", name);
    for (const reason of ["Scheduled", "Pulled", "Created", "Started"]) expect(describe).toMatch(new RegExp(`Normal\\s+${reason}\\s`));
    expect(describe).toContain(`Successfully assigned default/${name} to ${pod?.spec.nodeName ?? ""}`);
  });

  it("mounts the service account's namespace, CA and pod-bound token at /var/run/secrets/kubernetes.io/serviceaccount", async () => {
    const [pod] = await pods("app=kubernetes-bootcamp");
    const name = pod?.metadata.name ?? "";
    const dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    expect(await lab.kubectlOk("exec", name, "--", "cat", `${dir}/namespace`)).toBe("default");
    expect((await lab.kubectlOk("exec", name, "--", "ls", dir)).split(/\s+/).filter((f) => f !== "").sort()).toEqual(["ca.crt", "namespace", "token"]);
    const token = (await lab.kubectlOk("exec", name, "--", "cat", `${dir}/token`)).trim();
    const parts = token.split(".");
    expect(parts).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8")) as {
      sub: string;
      exp: number;
      iat: number;
      "kubernetes.io": { namespace: string; pod?: { name: string; uid: string }; serviceaccount: { name: string } };
    };
    expect(claims.sub).toBe("system:serviceaccount:default:default");
    expect(claims["kubernetes.io"].namespace).toBe("default");
    expect(claims["kubernetes.io"].pod?.name).toBe(name);
    expect(claims.exp - claims.iat).toBe(3607);
    // The mount is read-only for the container.
    const write = await lab.kubectl(["exec", name, "--", "sh", "-c", `echo x > ${dir}/namespace`]);
    expect(write.code).not.toBe(0);
  });

  it("gives a StatefulSet's claim the default class `kubelab up` made; the volume outlives its pod", async () => {
    expect(await lab.kubectlOk("get", "storageclass", "standard", "-o", "jsonpath={.provisioner} {.volumeBindingMode} {.metadata.annotations}")).toContain("kubelab.dev/local-path WaitForFirstConsumer");
    await applyManifest(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 1
  selector: {matchLabels: {app: sts-web}}
  template:
    metadata: {labels: {app: sts-web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: writer
        image: busybox
        command: ["sh", "-c", "echo hello >> /data/note && exec sleep 3600"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Mi}}}`);
    const first = await waitPod("web-0", "Running", running);
    const claim = JSON.parse(await lab.kubectlOk("get", "pvc", "data-web-0", "-o", "json")) as { metadata: { uid: string; annotations?: Record<string, string> }; spec: { storageClassName?: string }; status: { phase: string } };
    expect(claim.spec.storageClassName).toBe("standard");
    expect(claim.status.phase).toBe("Bound");
    expect(claim.metadata.annotations?.["volume.kubernetes.io/selected-node"]).toBe(first.spec.nodeName);
    expect(readFileSync(join(lab.home, "local-path", `pvc-${claim.metadata.uid}_default_data-web-0`, "note"), "utf8")).toBe("hello\n");
    await lab.kubectlOk("delete", "pod", "web-0");
    // The StatefulSet makes web-0 again with the same claim: it finds the first pod's line and adds its own.
    await waitPod("web-0", "replaced and Running", (p) => p.metadata.uid !== first.metadata.uid && p.metadata.deletionTimestamp === undefined && running(p));
    expect(await lab.kubectlOk("exec", "web-0", "--", "cat", "/data/note")).toBe("hello\nhello\n");
    await lab.kubectlOk("delete", "statefulset", "web");
  }, 120_000);

  it("reports an unknown image as ErrImagePull, then ImagePullBackOff", async () => {
    await lab.kubectlOk("run", "no-such-image", "--image=kubelab.invalid/no-such-image:v9");
    await waitPod("no-such-image", "waiting in ImagePullBackOff", (p) => container(p)?.state.waiting?.reason === "ImagePullBackOff");
    const describe = await lab.kubectlOk("describe", "pod", "no-such-image");
    expect(describe).toMatch(/Warning\s+Failed\s.*Error: ErrImagePull/);
    expect(describe).toMatch(/Back-off pulling image "kubelab\.invalid\/no-such-image:v9"/);
    expect(describe).toMatch(/Warning\s+Failed\s.*Error: ImagePullBackOff/);
  });

  it("restarts a container killed with kill -9 on its node; kubectl logs --previous shows the old one", async () => {
    const [pod] = await pods("app=kubernetes-bootcamp");
    const name = pod?.metadata.name ?? "";
    const before = container(pod);
    expect(before?.containerID).toBeDefined();
    const pid = await containerPid(pod?.spec.nodeName ?? "", before?.containerID ?? "");
    process.kill(pid, "SIGKILL");
    const after = await waitPod(name, "restarted", (p) => running(p) && (container(p)?.restartCount ?? 0) === (before?.restartCount ?? 0) + 1);
    expect(container(after)?.lastState.terminated).toMatchObject({ exitCode: 137, containerID: before?.containerID });
    expect(container(after)?.containerID).not.toBe(before?.containerID);
    expect(await lab.kubectlOk("logs", name, "--previous")).toContain(`Kubernetes Bootcamp App Started At:`);
  });

  it("backs off a crashing container: CrashLoopBackOff", async () => {
    await lab.kubectlOk("run", "crasher", "--image=busybox", "--", "sh", "-c", "echo about to fail; exit 3");
    const pod = await waitPod("crasher", "CrashLoopBackOff", (p) => container(p)?.state.waiting?.reason === "CrashLoopBackOff" && (container(p)?.restartCount ?? 0) >= 1);
    expect(container(pod)?.lastState.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
    expect(await lab.kubectlOk("logs", "crasher", "--previous")).toContain("about to fail");
    expect(await lab.kubectlOk("get", "pod", "crasher")).toMatch(/crasher\s+0\/1\s+CrashLoopBackOff/);
  });

  it("restarts a container whose liveness probe fails", async () => {
    await applyManifest(podManifest("liveness", `  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "touch /tmp/healthy; exec sleep 3600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 1
`));
    await waitPod("liveness", "Running", running);
    await lab.kubectlOk("exec", "liveness", "--", "rm", "/tmp/healthy");
    const pod = await waitPod("liveness", "restarted", (p) => running(p) && (container(p)?.restartCount ?? 0) >= 1);
    expect(container(pod)?.restartCount).toBe(1);
    const describe = await lab.kubectlOk("describe", "pod", "liveness");
    expect(describe).toMatch(/Warning\s+Unhealthy\s.*Liveness probe failed/);
    expect(describe).toContain("Container app failed liveness probe, will be restarted");
  });

  it("keeps a pod whose readiness probe fails Running but not Ready, and out of its Service's endpoints", async () => {
    await applyManifest(`${podManifest("unready", `  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
`)}---
apiVersion: v1
kind: Service
metadata: {name: unready}
spec:
  selector: {app: unready}
  ports: [{port: 80}]
`);
    const pod = await waitPod("unready", "Running with the probe run", (p) => running(p) && condition(p, "Ready") === "False");
    expect(container(pod)?.ready).toBe(false);
    expect(await lab.kubectlOk("get", "pod", "unready")).toMatch(/unready\s+0\/1\s+Running\s+0\s/);
    const endpoints = await waitFor("the pod in notReadyAddresses", async () => {
      const ep = JSON.parse(await lab.kubectlOk("get", "endpoints", "unready", "-o", "json")) as { subsets?: { addresses?: unknown[]; notReadyAddresses?: { ip: string }[] }[] };
      return ep.subsets?.[0]?.notReadyAddresses?.some((a) => a.ip === pod.status.podIP) ? ep : undefined;
    }, 20_000, 250);
    expect(endpoints.subsets?.[0]?.addresses ?? []).toEqual([]);
    // Once the probe passes the pod turns Ready without a restart.
    await lab.kubectlOk("exec", "unready", "--", "touch", "/tmp/ready");
    const ready = await waitPod("unready", "Ready", (p) => condition(p, "Ready") === "True");
    expect(container(ready)?.restartCount).toBe(0);
  });

  it("kills a container over its memory limit (OOMKilled) and puts the limits in the container's cgroup", async () => {
    await applyManifest(podManifest("memory-hog", `  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "x=0123456789; while true; do x=$x$x; done"]
    resources:
      limits: {memory: 20Mi, cpu: 250m}
`));
    const pod = await waitPod("memory-hog", "OOMKilled in lastState", (p) => container(p)?.lastState.terminated?.reason === "OOMKilled");
    expect(container(pod)?.lastState.terminated?.exitCode).toBe(137);

    await applyManifest(podManifest("limited", `  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    resources:
      limits: {memory: 20Mi, cpu: 250m}
`));
    const limited = await waitPod("limited", "Running", running);
    const pid = await containerPid(limited.spec.nodeName ?? "", container(limited)?.containerID ?? "");
    expect(cgroupFile(pid, "memory", "memory.limit_in_bytes", "memory.max")).toBe(String(20 * 1024 * 1024));
    const cpu = cgroupFile(pid, "cpu", "cpu.cfs_quota_us", "cpu.max");
    expect(cpu.split(" ")[0]).toBe("25000");
  });

  it("follows a pod's log with kubectl logs -f", async () => {
    const [pod] = await pods("app=kubernetes-bootcamp");
    const name = pod?.metadata.name ?? "";
    const follower = spawn("kubectl", ["--kubeconfig", lab.kubeconfig, "--cache-dir", join(lab.home, "kubectl-cache"), "logs", "-f", name], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    follower.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    try {
      await waitFor("the log so far", () => out.includes("Kubernetes Bootcamp App Started At") || undefined, 15_000, 100);
      const requests = (out.match(/Total Requests/g) ?? []).length;
      await answerFrom(otherNode(pod?.spec.nodeName ?? ""), pod?.status.podIP ?? "", 8080, name);
      // The request's line arrives on the open stream.
      await waitFor("a new line on the followed log", () => (out.match(/Total Requests/g) ?? []).length > requests || undefined, 15_000, 100);
      expect(follower.exitCode).toBeNull();
    } finally {
      follower.kill();
    }
  });

  it("forwards a local port to a pod with kubectl port-forward", async () => {
    const [pod] = await pods("app=kubernetes-bootcamp");
    const name = pod?.metadata.name ?? "";
    const forwarder = spawn("kubectl", ["--kubeconfig", lab.kubeconfig, "--cache-dir", join(lab.home, "kubectl-cache"), "port-forward", `pod/${name}`, ":8080"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    forwarder.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    forwarder.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    try {
      const port = await waitFor("kubectl forwarding", () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out)?.[1], 15_000, 100);
      const answer = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      expect(answer).toContain(`Running on: ${name}`);
    } finally {
      forwarder.kill();
    }
  });

  it("attaches to a running container's stdin and stdout with kubectl attach -i", async () => {
    await applyManifest(podManifest("attached", `  containers:
  - name: app
    image: busybox
    command: ["cat"]
    stdin: true
`));
    await waitPod("attached", "Running", running);
    const attach = spawn("kubectl", ["--kubeconfig", lab.kubeconfig, "--cache-dir", join(lab.home, "kubectl-cache"), "attach", "-i", "attached"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    attach.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    try {
      // What is typed reaches cat's stdin; cat's echo comes back on the attached stdout.
      await waitFor("the echo through attach", () => {
        attach.stdin.write("hello through attach\n");
        return out.includes("hello through attach") || undefined;
      }, 15_000, 500);
    } finally {
      attach.kill();
    }
    // Detaching leaves the container running.
    expect(container(await getPod("attached"))).toMatchObject({ restartCount: 0, ready: true });
  });

  it("runs bash in a pod through a terminal with kubectl exec -ti", async () => {
    const [pod] = await pods("app=kubernetes-bootcamp");
    const name = pod?.metadata.name ?? "";
    // script(1) gives kubectl a pty, as a user's terminal would.
    const kubectl = `kubectl --kubeconfig ${lab.kubeconfig} --cache-dir ${join(lab.home, "kubectl-cache")} exec -ti ${name} -- bash`;
    const session = spawn("script", ["-q", "-e", "-c", kubectl, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    session.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    session.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => session.on("exit", (code) => { resolve(code); }));
    try {
      session.stdin.write("echo tty=$(tty) host=$HOSTNAME\n");
      await waitFor("the command's answer", () => /tty=\/dev\/pts\/\d+ host=/.test(out) || undefined, 15_000, 100);
      expect(out).toContain(`host=${name}`);
      session.stdin.write("exit 7\n");
      expect(await exited).toBe(7);
    } finally {
      session.kill();
    }
  });

  it("serves a hostPort pod on its node's IP (two-server's fedoraapache)", async () => {
    await applyManifest(podManifest("fedoraapache", `  containers:
  - name: fedoraapache
    image: fedora/apache
    ports: [{containerPort: 80, hostPort: 8080}]
`));
    const pod = await waitPod("fedoraapache", "Running", running);
    const node = pod.spec.nodeName ?? "";
    const nodeIp = lab.nodeIp(Number(node.slice("node-".length)));
    expect(await lab.kubectlOk("get", "pods", "fedoraapache", "-o", "wide")).toMatch(new RegExp(`fedoraapache\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${pod.status.podIP?.replace(/\./g, "\\.") ?? ""}\\s+${node}`));
    expect(await answerFrom(otherNode(node), nodeIp, 8080, "Apache is working")).toContain("Apache HTTP Server Test Page");
  });

  it("keeps a ReplicationController of 5 at 5: killed containers restart, deleted pods are replaced", async () => {
    await applyManifest(`apiVersion: v1
kind: ReplicationController
metadata: {name: lianjiatest.com}
spec:
  replicas: 5
  selector: {name: liutest}
  template:
    metadata: {labels: {name: liutest}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: fedora/apache
        ports: [{containerPort: 80}]
`);
    const allRunning = (list: Pod[]): boolean => list.filter((p) => !p.metadata.deletionTimestamp).length === 5 && list.filter((p) => !p.metadata.deletionTimestamp).every((p) => running(p) && condition(p, "Ready") === "True");
    const first = await waitFor("5 liutest pods Running", async () => {
      const list = await pods("name=liutest");
      return allRunning(list) ? list : undefined;
    }, SETTLE_MS, 250);
    const [killed, deleted] = first;
    const pid = await containerPid(killed?.spec.nodeName ?? "", container(killed)?.containerID ?? "");
    process.kill(pid, "SIGKILL");
    await waitPod(killed?.metadata.name ?? "", "restarted", (p) => running(p) && container(p)?.restartCount === 1);
    await lab.kubectlOk("delete", "pod", deleted?.metadata.name ?? "", "--wait=false");
    const after = await waitFor("5 liutest pods Running again", async () => {
      const list = await pods("name=liutest");
      return allRunning(list) && !list.some((p) => p.metadata.name === deleted?.metadata.name && !p.metadata.deletionTimestamp) ? list : undefined;
    }, SETTLE_MS, 250);
    expect(after.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name)).toContain(killed?.metadata.name);
    expect(await lab.kubectlOk("get", "rc", "lianjiatest.com")).toMatch(/lianjiatest\.com\s+5\s+5\s+5\s/);
  });

  it("keeps pods running while the kubelet is down; the restarted kubelet adopts them without a restart", async () => {
    const [pod] = await pods("app=kubernetes-bootcamp");
    const node = pod?.spec.nodeName ?? "";
    expect(await lab.ok(["kill", "kubelet", "--node", node, "--no-restart"])).toContain("sent SIGKILL");
    await answerFrom(otherNode(node), pod?.status.podIP ?? "", 8080, `Running on: ${pod?.metadata.name ?? ""}`);
    await lab.ok(["start", "kubelet", "--node", node]);
    await waitFor("the kubelet serving again", async () => /kubelet\s+\S+\s+\d+\s+running/.test((await lab.ok(["status"])).split("\n").find((l) => l.includes("kubelet") && l.includes(node)) ?? "") || undefined, 30_000, 250);
    // The adopted pod's node keeps posting status; its containers are the same ones, not restarted.
    await waitFor(`${node} Ready`, async () => {
      const n = JSON.parse(await lab.kubectlOk("get", "node", node, "-o", "json")) as Node;
      return n.status.conditions?.find((c) => c.type === "Ready")?.status === "True" || undefined;
    }, 30_000, 250);
    const after = await getPod(pod?.metadata.name ?? "");
    expect(container(after)?.containerID).toBe(container(pod)?.containerID);
    expect(container(after)?.restartCount).toBe(container(pod)?.restartCount);
    expect(await lab.ok(["logs", "kubelet", "--node", node])).toContain("Kubelet started");
  });

  it("keeps containers running while the runtime is killed and restarted", async () => {
    const [pod] = await pods("app=kubernetes-bootcamp");
    const node = pod?.spec.nodeName ?? "";
    const pid = await containerPid(node, container(pod)?.containerID ?? "");
    expect(await lab.ok(["kill", "runtime", "--node", node])).toContain("sent SIGKILL");
    await waitFor("the runtime restarted", async () => /container-runtime\s+\S+\s+\d+\s+running\s+1\s.*\sok\s*$/.test((await lab.ok(["status"])).split("\n").find((l) => l.includes("container-runtime") && l.includes(node)) ?? "") || undefined, 30_000, 250);
    expect(await containerPid(node, container(pod)?.containerID ?? "")).toBe(pid);
    await answerFrom(otherNode(node), pod?.status.podIP ?? "", 8080, `Running on: ${pod?.metadata.name ?? ""}`);
    // The kubelet sees the same container through the restarted runtime: no restart, still Running and Ready.
    // (its gRPC channel reconnects within a second of the runtime's return, as a user retrying exec would see)
    await waitFor("kubectl exec through the restarted runtime", async () => (await lab.kubectl(["exec", pod?.metadata.name ?? "", "--", "true"])).code === 0 || undefined, 10_000, 250);
    const after = await getPod(pod?.metadata.name ?? "");
    expect(container(after)).toMatchObject({ containerID: container(pod)?.containerID, restartCount: container(pod)?.restartCount, ready: true });
  });

  it("marks a stopped node NotReady, evicts its pods and replaces them on the other nodes", async () => {
    const before = await pods("app=kubernetes-bootcamp");
    const node = before[0]?.spec.nodeName ?? "";
    const victims = before.filter((p) => p.spec.nodeName === node).map((p) => p.metadata.name);
    expect(victims.length).toBeGreaterThan(0);
    await lab.ok(["stop", "kubelet", "--node", node]);
    await lab.ok(["stop", "runtime", "--node", node]);
    await waitFor(`${node} NotReady`, async () => {
      const n = JSON.parse(await lab.kubectlOk("get", "node", node, "-o", "json")) as Node;
      return n.status.conditions?.find((c) => c.type === "Ready")?.status !== "True" || undefined;
    }, 30_000, 250);
    const replaced = await waitFor("3 bootcamp pods Running on the other nodes", async () => {
      const now = await pods("app=kubernetes-bootcamp");
      const live = now.filter((p) => p.metadata.deletionTimestamp === undefined && running(p) && p.spec.nodeName !== node);
      return live.length === 3 ? now : undefined;
    }, 60_000, 250);
    for (const name of victims) expect(replaced.find((p) => p.metadata.name === name)?.metadata.deletionTimestamp ?? "deleted").toBeTruthy();
    // The Deployment's status follows its pods' readiness a moment later.
    await waitFor("the Deployment 3/3 up to date and available", async () => /kubernetes-bootcamp\s+3\/3\s+3\s+3\s/.test(await lab.kubectlOk("get", "deployment", "kubernetes-bootcamp")) || undefined, 30_000, 250);
  }, 120_000);
});
