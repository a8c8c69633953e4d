// The bootcamp tutorial (../shared/scenarios/bootcamp.md), step by step as a user types it, against ONE
// `kubelab up --nodes 3` with the real kubectl: deploy, explore (proxy, describe, logs, exec), expose as a NodePort,
// labels, scale and load-balance, rolling update, a bad update and its undo. Every assertion reads what the user
// would read: kubectl's output, the HTTP answers of curl run on the host, inside a node (`kubelab node-exec`) or inside
// a pod (`kubectl exec`). The tests run in order and build on each other, as the tutorial's modules do; the lab is
// taken down in afterAll even when one failed.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/apiserver.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { answersTo, curlFromHost, kubectlShows, spreadOver } from "./scenario-support.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`scenario-bootcamp.int.test: skipped: ${prerequisites.reason}`);

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string; controller?: boolean }[]; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { image: string }[] };
  status: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state: { running?: unknown; waiting?: { reason?: string } }; restartCount: number; containerID?: string; ready: boolean }[];
  };
}

const APP = "kubernetes-bootcamp";
const lab = new TestLab("e2eboot");
const SETTLE_MS = 60_000;

/** What a user learns along the way and types later. */
let podName = "";
let podIP = "";
let clusterIP = "";
let nodePort = 0;

async function appPods(): Promise<Pod[]> {
  return (JSON.parse(await lab.kubectlOk("get", "pods", "-l", `app=${APP}`, "-o", "json")) as { items: Pod[] }).items;
}

/** The app's pods that are not being deleted, once there are `count` of them, all Running and Ready. */
function runningAppPods(count: number, image?: string): Promise<Pod[]> {
  return waitFor(`${count} ${APP} pods Running${image ? ` on ${image}` : ""}`, async () => {
    const live = (await appPods()).filter((p) => p.metadata.deletionTimestamp === undefined);
    const ready = live.filter((p) => p.status.phase === "Running" && p.status.containerStatuses?.[0]?.ready === true && (image === undefined || p.spec.containers[0]?.image === image));
    return live.length === count && ready.length === count ? live : undefined;
  }, SETTLE_MS, 250);
}

/** The pod name in a bootcamp answer: "Hello Kubernetes bootcamp! | Running on: <pod> | v=1". */
function answeringPod(answer: string): string | undefined {
  return /Running on: (\S+)/.exec(answer)?.[1];
}

/** curl from inside a node until the answer contains `expected`. */
async function curlOnNode(node: string, url: string, expected: string): Promise<string> {
  let last = "";
  try {
    return await waitFor(`${expected} from ${url} on ${node}`, async () => {
      const result = await lab.nodeExec(node, ["curl", "-sS", "-m", "3", url], 10_000);
      last = `exit ${result.code}: ${result.stdout} ${result.stderr}`;
      return result.stdout.includes(expected) ? result.stdout : undefined;
    }, 15_000, 200);
  } catch (err) {
    throw new Error(`${String(err)}; last answer: ${last}`);
  }
}

/** curl from the host until the answer contains `expected`. */
async function curlOnHost(url: string, expected: string): Promise<string> {
  let last = "";
  try {
    return await waitFor(`${expected} from ${url} on the host`, async () => {
      const result = await curlFromHost(url);
      last = `exit ${result.code}: ${result.stdout} ${result.stderr}`;
      return result.stdout.includes(expected) ? result.stdout : undefined;
    }, 15_000, 200);
  } catch (err) {
    throw new Error(`${String(err)}; last answer: ${last}`);
  }
}

describe.skipIf(!prerequisites.ok)("the bootcamp tutorial on a 3-node kubelab", () => {
  const started = Date.now();
  let upSeconds = 0;

  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      await lab.up(3);
      upSeconds = (Date.now() - started) / 1000;
    });
  }, 180_000);

  afterAll(async () => {
    const downStarted = Date.now();
    const down = await lab.tearDown();
    console.log(`scenario-bootcamp: ${((Date.now() - started) / 1000).toFixed(1)} s in all; kubelab up ${upSeconds.toFixed(1)} s, teardown ${((Date.now() - downStarted) / 1000).toFixed(1)} s`);
    expect(down.code, `${down.stdout}\n${down.stderr}`).toBe(0);
    expect(await lab.leftovers()).toEqual([]);
  }, 180_000);

  it("kubectl version, cluster-info and get nodes describe the cluster", async () => {
    const version = await lab.kubectlOk("version");
    expect(version).toMatch(/^Client Version: v1\.\d+/m);
    expect(version).toMatch(/^Server Version: v1\.\d+/m);
    expect(await lab.kubectlOk("cluster-info")).toContain(`Kubernetes control plane is running at https://172.28.${lab.subnet}.1:${lab.securePort}`);
    const nodes = (await lab.kubectlOk("get", "nodes")).trim().split("\n");
    expect(nodes[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(nodes.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(["node-1 Ready", "node-2 Ready", "node-3 Ready"]);
  });

  it("kubectl create deployment runs one pod, named after its ReplicaSet", async () => {
    expect(await lab.kubectlOk("create", "deployment", APP, `--image=jocatalin/${APP}:v1`)).toContain(`deployment.apps/${APP} created`);
    const [pod] = await runningAppPods(1);
    podName = pod?.metadata.name ?? "";
    podIP = pod?.status.podIP ?? "";
    const deployments = await kubectlShows(lab, ["get", "deployments"], new RegExp(`^${APP}\\s+1/1\\s+1\\s+1\\s`, "m"));
    expect(deployments).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    expect(podName).toMatch(new RegExp(`^${APP}-[a-z0-9]{6,10}-[a-z0-9]{5}$`));
    expect(await lab.kubectlOk("get", "pods")).toMatch(new RegExp(`^${podName}\\s+1/1\\s+Running\\s+0\\s`, "m"));
  });

  it("kubectl proxy serves /version and the pod's full JSON", async () => {
    const proxy = spawn("kubectl", ["--kubeconfig", lab.kubeconfig, "--cache-dir", join(lab.home, "kubectl-cache"), "proxy", "--port=0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      proxy.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      const port = await waitFor("kubectl proxy serving", () => /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 10_000, 50);
      const version = JSON.parse((await curlOnHost(`http://localhost:${port}/version`, "gitVersion"))) as { major: string; gitVersion: string };
      expect(version).toMatchObject({ major: "1", gitVersion: expect.stringMatching(/^v1\./) as unknown });
      const pod = JSON.parse(await curlOnHost(`http://localhost:${port}/api/v1/namespaces/default/pods/${podName}/`, podName)) as Pod;
      const owner = pod.metadata.ownerReferences?.[0];
      expect(owner).toMatchObject({ kind: "ReplicaSet", controller: true });
      expect(owner?.name).toBe(`${APP}-${pod.metadata.labels?.["pod-template-hash"] ?? "?"}`);
      expect(pod.metadata.labels?.app).toBe(APP);
      expect(pod.status.podIP).toBe(podIP);
      expect(pod.status.hostIP).toBe(lab.nodeIp(Number(pod.spec.nodeName?.slice("node-".length))));
      expect(pod.status.conditions?.map((c) => c.type)).toEqual(expect.arrayContaining(["Ready", "PodScheduled", "Initialized", "ContainersReady"]));
      const status = pod.status.containerStatuses?.[0];
      expect(status?.state.running).toBeDefined();
      expect(status?.restartCount).toBe(0);
      expect(status?.containerID).toMatch(/^[a-z-]+:\/\/[0-9a-f]{64}$/);
    } finally {
      proxy.kill();
    }
  });

  it("kubectl describe pods shows the node, labels, IP, owner, containers, conditions and events", async () => {
    const pod = (await appPods())[0];
    const text = await lab.kubectlOk("describe", "pods");
    expect(text).toMatch(new RegExp(`^Node:\\s+${pod?.spec.nodeName ?? "?"}/${pod?.status.hostIP?.replace(/\./g, "\\.") ?? "?"}$`, "m"));
    expect(text).toMatch(/^Start Time:\s+\w{3}, \d{2} \w{3} \d{4}/m);
    expect(text).toMatch(new RegExp(`^Labels:\\s+app=${APP}\\n\\s+pod-template-hash=`, "m"));
    expect(text).toMatch(new RegExp(`^IP:\\s+${podIP.replace(/\./g, "\\.")}$`, "m"));
    expect(text).toMatch(new RegExp(`^Controlled By:\\s+ReplicaSet/${APP}-`, "m"));
    expect(text).toMatch(new RegExp(`^Containers:\\n  ${APP}:\\n`, "m"));
    expect(text).toMatch(/^Conditions:\n\s+Type\s+Status\n/m);
    for (const reason of ["Scheduled", "Pulled", "Created", "Started"]) expect(text).toMatch(new RegExp(`Normal\\s+${reason}\\s`));
  });

  it("the app answers on its pod IP from a node; kubectl logs and kubectl exec env show the pod", async () => {
    expect(await curlOnNode("node-1", `http://${podIP}:8080`, podName)).toBe(`Hello Kubernetes bootcamp! | Running on: ${podName} | v=1\n`);
    expect(await lab.kubectlOk("logs", podName)).toMatch(new RegExp(`^Kubernetes Bootcamp App Started At: \\S+ \\| Running On:\\s+${podName}`, "m"));
    const env = await lab.kubectlOk("exec", podName, "--", "env");
    const kubernetesIP = JSON.parse(await lab.kubectlOk("get", "service", "kubernetes", "-o", "json")) as { spec: { clusterIP: string } };
    expect(env).toMatch(new RegExp(`^HOSTNAME=${podName}$`, "m"));
    expect(env).toMatch(new RegExp(`^KUBERNETES_SERVICE_HOST=${kubernetesIP.spec.clusterIP}$`, "m"));
    expect(env).toMatch(/^KUBERNETES_SERVICE_PORT=443$/m);
    expect(env).toMatch(new RegExp(`^KUBERNETES_PORT_443_TCP=tcp://${kubernetesIP.spec.clusterIP}:443$`, "m"));
    expect(env).toMatch(/^KUBERNETES_PORT_443_TCP_PROTO=tcp$/m);
  });

  it("kubectl exec -ti runs bash in the container: cat server.js, curl localhost:8080", async () => {
    // script(1) gives kubectl a pty, as a user's terminal would.
    const kubectl = `kubectl --kubeconfig ${lab.kubeconfig} --cache-dir ${join(lab.home, "kubectl-cache")} exec -ti ${podName} -- bash`;
    const session = spawn("script", ["-q", "-e", "-c", kubectl, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    session.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    session.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => session.on("exit", (code) => { resolve(code); }));
    try {
      session.stdin.write("cat server.js\n");
      await waitFor("server.js on the terminal", () => out.includes('require("http")') || undefined, 15_000, 100);
      session.stdin.write("curl localhost:8080\n");
      await waitFor("the app's answer on the terminal", () => out.includes(`Running on: ${podName} | v=1`) || undefined, 15_000, 100);
      session.stdin.write("exit\n");
      expect(await exited).toBe(0);
    } finally {
      session.kill();
    }
  });

  it("kubectl expose --type=NodePort: the ClusterIP answers from a node and from the pod, the NodePort from the host on every node's IP", async () => {
    expect(await lab.kubectlOk("get", "services")).toMatch(/^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s/m);
    expect(await lab.kubectlOk("expose", `deployment/${APP}`, "--type=NodePort", "--port", "8080")).toContain(`service/${APP} exposed`);
    const row = new RegExp(`^${APP}\\s+NodePort\\s+(10\\.\\d+\\.\\d+\\.\\d+)\\s+<none>\\s+8080:(\\d+)/TCP\\s`, "m").exec(await lab.kubectlOk("get", "services"));
    clusterIP = row?.[1] ?? "";
    nodePort = Number(row?.[2]);
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    await curlOnNode("node-2", `http://${clusterIP}:8080`, `Running on: ${podName}`);
    // From inside the pod, the Service's only endpoint is the pod itself (the hairpin case).
    expect(await waitFor("the ClusterIP from the pod", async () => {
      const result = await lab.kubectl(["exec", podName, "--", "curl", "-s", "-m", "3", `${clusterIP}:8080`]);
      return result.stdout.includes(podName) ? result.stdout : undefined;
    }, 15_000, 200)).toContain("Hello Kubernetes bootcamp!");
    for (const node of [1, 2, 3]) await curlOnHost(`http://${lab.nodeIp(node)}:${nodePort}`, `Running on: ${podName} | v=1`);
  });

  it("kubectl describe services shows the selector, type, IP, ports and endpoints", async () => {
    const text = await lab.kubectlOk("describe", `services/${APP}`);
    expect(text).toMatch(new RegExp(`^Selector:\\s+app=${APP}$`, "m"));
    expect(text).toMatch(/^Type:\s+NodePort$/m);
    expect(text).toMatch(new RegExp(`^IP:\\s+${clusterIP.replace(/\./g, "\\.")}$`, "m"));
    expect(text).toMatch(/^Port:\s+<unset>\s+8080\/TCP$/m);
    expect(text).toMatch(/^TargetPort:\s+8080\/TCP$/m);
    expect(text).toMatch(new RegExp(`^NodePort:\\s+<unset>\\s+${nodePort}/TCP$`, "m"));
    expect(text).toMatch(new RegExp(`^Endpoints:\\s+${podIP.replace(/\./g, "\\.")}:8080$`, "m"));
  });

  it("selects by label: get pods/services -l, kubectl label, then describe and -l version=v1 find the pod", async () => {
    expect(await lab.kubectlOk("get", "pods", "-l", `app=${APP}`)).toMatch(new RegExp(`^${podName}\\s+1/1\\s+Running`, "m"));
    expect(await lab.kubectlOk("get", "services", "-l", `app=${APP}`)).toMatch(new RegExp(`^${APP}\\s+NodePort\\s`, "m"));
    expect(await lab.kubectlOk("label", "pods", podName, "version=v1")).toContain(`pod/${podName} labeled`);
    expect(await lab.kubectlOk("describe", "pods", podName)).toMatch(/^\s+version=v1$/m);
    expect(await lab.kubectlOk("get", "pods", "-l", "version=v1")).toMatch(new RegExp(`^${podName}\\s+1/1\\s+Running`, "m"));
  });

  it("kubectl delete service -l: the NodePort refuses connections, the pod still answers", async () => {
    expect(await lab.kubectlOk("delete", "service", "-l", `app=${APP}`)).toContain(`service "${APP}" deleted`);
    const refused = await waitFor("the NodePort refusing", async () => {
      const result = await curlFromHost(`http://${lab.nodeIp(1)}:${nodePort}`);
      return result.code === 7 ? result : undefined;
    }, 15_000, 200);
    expect(refused.stderr).toMatch(/Connection refused|Couldn't connect/);
    await curlOnNode("node-3", `http://${podIP}:8080`, `Running on: ${podName}`);
  });

  it("kubectl scale to 4 spreads the pods over the nodes; a NodePort Service spreads answers over all 4", async () => {
    expect(await lab.kubectlOk("get", "rs")).toMatch(new RegExp(`^NAME\\s+DESIRED\\s+CURRENT\\s+READY\\s+AGE\\n${APP}-\\S+\\s+1\\s+1\\s+1\\s`));
    expect(await lab.kubectlOk("scale", `deployments/${APP}`, "--replicas=4")).toContain(`deployment.apps/${APP} scaled`);
    await runningAppPods(4);
    const wide = (await lab.kubectlOk("get", "pods", "-o", "wide")).trim().split("\n").slice(1).map((l) => l.split(/\s+/));
    expect(wide.length).toBe(4);
    expect(new Set(wide.map((cols) => cols[5])).size).toBe(4);
    expect(new Set(wide.map((cols) => cols[6]))).toEqual(new Set(["node-1", "node-2", "node-3"]));
    const described = await kubectlShows(lab, ["describe", `deployments/${APP}`], /^Replicas:\s+4 desired \| 4 updated \| 4 total \| 4 available \| 0 unavailable$/m);
    expect(described).toMatch(/^StrategyType:\s+RollingUpdate$/m);
    expect(described).toMatch(/^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$/m);
    expect(described).toMatch(new RegExp(`^NewReplicaSet:\\s+${APP}-\\S+ \\(4/4 replicas created\\)$`, "m"));
    expect(described).toMatch(new RegExp(`Normal\\s+ScalingReplicaSet\\s.*Scaled up replica set ${APP}-\\S+ from 1 to 4`));
    // The tutorial's scaling module exposes the deployment again (the previous module deleted the Service).
    await lab.kubectlOk("expose", `deployment/${APP}`, "--type=NodePort", "--port", "8080");
    nodePort = Number((JSON.parse(await lab.kubectlOk("get", "service", APP, "-o", "json")) as { spec: { ports: { nodePort: number }[] } }).spec.ports[0]?.nodePort);
    const answering = await spreadOver(lab, "host", `http://${lab.nodeIp(2)}:${nodePort}`, 4, answeringPod);
    expect([...answering].sort()).toEqual(wide.map((cols) => cols[0]).sort());
  });

  it("kubectl scale to 2: two pods Terminating, then gone", async () => {
    await lab.kubectlOk("scale", `deployments/${APP}`, "--replicas=2");
    let sawTerminating = false;
    await waitFor("2 pods left", async () => {
      const rows = (await lab.kubectlOk("get", "pods")).trim().split("\n").slice(1);
      const terminating = rows.filter((r) => /\sTerminating\s/.test(r)).length;
      if (terminating > 0) sawTerminating = true;
      return rows.length === 2 && terminating === 0 ? rows : undefined;
    }, SETTLE_MS, 100);
    expect(sawTerminating).toBe(true);
  });

  it("kubectl set image to v2 rolls out; rollout status says so and the NodePort answers v=2", async () => {
    expect(await lab.kubectlOk("set", "image", `deployments/${APP}`, `${APP}=jocatalin/${APP}:v2`)).toContain(`deployment.apps/${APP} image updated`);
    const status = await lab.kubectl(["rollout", "status", `deployments/${APP}`, "--timeout=60s"], 90_000);
    expect(status.stdout).toContain(`deployment "${APP}" successfully rolled out`);
    const pods = await runningAppPods(2, `jocatalin/${APP}:v2`);
    // Every answer is v=2 once kube-proxy has the new endpoints, and they come from both new pods.
    const answers = await waitFor("only v=2 answers", async () => {
      const batch = await answersTo(lab, "host", `http://${lab.nodeIp(3)}:${nodePort}`, 10);
      return batch.length === 10 && batch.every((a) => a.endsWith("| v=2")) ? batch : undefined;
    }, 15_000, 200);
    expect(answers.every((a) => pods.some((p) => answeringPod(a) === p.metadata.name))).toBe(true);
  });

  it("a bad image (v10) never takes the app down; kubectl rollout undo brings v2 back", async () => {
    await lab.kubectlOk("set", "image", `deployments/${APP}`, `${APP}=jocatalin/${APP}:v10`);
    const pulling = await waitFor("a v10 pod failing to pull", async () => {
      const out = await lab.kubectlOk("get", "pods");
      return /\s0\/1\s+(ErrImagePull|ImagePullBackOff)\s/.test(out) ? out : undefined;
    }, SETTLE_MS, 250);
    // Two replicas: maxUnavailable 25% rounds down to 0, maxSurge 25% up to 1: one new pod, both old ones serve.
    expect(pulling.match(/\s1\/1\s+Running\s/g)?.length).toBe(2);
    await kubectlShows(lab, ["get", "deployments"], new RegExp(`^${APP}\\s+2/2\\s+1\\s+2\\s`, "m"));
    const answers = await answersTo(lab, "host", `http://${lab.nodeIp(1)}:${nodePort}`, 6);
    expect(answers.length).toBe(6);
    expect(answers.every((a) => a.endsWith("| v=2"))).toBe(true);

    expect(await lab.kubectlOk("rollout", "undo", `deployments/${APP}`)).toContain(`deployment.apps/${APP} rolled back`);
    const status = await lab.kubectl(["rollout", "status", `deployments/${APP}`, "--timeout=60s"], 90_000);
    expect(status.stdout).toContain(`deployment "${APP}" successfully rolled out`);
    await runningAppPods(2, `jocatalin/${APP}:v2`);
    await waitFor("the v10 pod gone", async () => !/ErrImagePull|ImagePullBackOff/.test(await lab.kubectlOk("get", "pods")) || undefined, SETTLE_MS, 250);
    await kubectlShows(lab, ["get", "deployments"], new RegExp(`^${APP}\\s+2/2\\s+2\\s+2\\s`, "m"));
    expect(await curlOnHost(`http://${lab.nodeIp(2)}:${nodePort}`, "| v=2")).toMatch(/^Hello Kubernetes bootcamp! \| Running on: \S+ \| v=2/);
  });
});
