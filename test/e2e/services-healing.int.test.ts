// Services while things break (../shared/scenarios/self-healing.md's kube-proxy rows, and what Services promise around
// deletions): ONE `kubelab up --nodes 3`, the real kubectl, `kubelab kill/start`, iptables-save inside a node, HTTP
// from the host on the lab bridge and lookups from inside a pod. Tests run in order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { waitFor } from "../support/apiserver.js";
import { answerFromHost, applyManifest, clientPodManifest, httpGet, lookupInPod, podsOf, service, waitReadyPods, type PodJson } from "./service-checks.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`services-healing.int.test: skipped: ${prerequisites.reason}`);

const lab = new TestLab("e2esvch");

function serveHostname(name: string, replicas: number, extra = ""): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${extra}      containers:
      - name: app
        image: registry.k8s.io/e2e-test-images/agnhost:2.53
        args: ["serve-hostname"]
        ports: [{containerPort: 9376}]
`;
}

function nodePortService(name: string, selector: string): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  type: NodePort
  selector: {app: ${selector}}
  ports: [{port: 80, targetPort: 9376}]
`;
}

async function nodePortOf(name: string): Promise<number> {
  return (await service(lab, name)).spec.ports[0]?.nodePort ?? 0;
}

/** The endpoints kube-proxy wrote for a Service on a node: the "ns/name -> ip:port" rule comments. */
async function endpointsInRules(node: string, serviceName: string): Promise<string[]> {
  const nat = (await lab.nodeExec(node, ["iptables-save", "-t", "nat"])).stdout;
  const found = new Set<string>();
  for (const match of nat.matchAll(new RegExp(`"default/${serviceName} -> ([\\d.]+:\\d+)"`, "g"))) found.add(match[1] ?? "");
  return [...found].sort();
}

const podEndpoints = (pods: PodJson[]): string[] => pods.map((p) => `${p.status.podIP ?? ""}:9376`).sort();

async function componentState(component: string, node: string): Promise<string> {
  const line = (await lab.ok(["status"])).split("\n").find((l) => l.includes(component) && l.includes(node)) ?? "";
  return /\s(running|stopped|exited|backoff|starting)\s/.exec(line)?.[1] ?? line;
}

describe.skipIf(!prerequisites.ok)("Services while a 3-node kubelab breaks", () => {
  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      await lab.up(3);
      await applyManifest(lab, clientPodManifest("client"));
      await waitReadyPods(lab, "app=client", 1);
    });
  }, 180_000);

  afterAll(() => lab.downCleanly(), 180_000);

  it("keeps a killed kube-proxy's rules working; the restarted one applies what changed meanwhile", async () => {
    await applyManifest(lab, `${serveHostname("web", 2, "      terminationGracePeriodSeconds: 1\n")}---\n${nodePortService("web", "web")}`);
    const two = await waitReadyPods(lab, "app=web", 2);
    const webPort = await nodePortOf("web");
    await answerFromHost(`http://${lab.nodeIp(1)}:${webPort}/`, /^web-/);
    await waitFor("node-1's rules for both pods", async () => (await endpointsInRules("node-1", "web")).join() === podEndpoints(two).join() || undefined, 15_000, 250);

    expect(await lab.ok(["kill", "kube-proxy", "--node", "node-1", "--no-restart"])).toContain("sent SIGKILL");
    expect(await componentState("kube-proxy", "node-1")).not.toBe("running");
    // The rules stay in node-1's tables and carry traffic with nobody to maintain them.
    expect(await endpointsInRules("node-1", "web")).toEqual(podEndpoints(two));
    for (let i = 0; i < 5; i++) expect(await answerFromHost(`http://${lab.nodeIp(1)}:${webPort}/`, /^web-/, 5_000)).toMatch(/^web-/);

    // Meanwhile: a third endpoint and a new Service. The other nodes follow; node-1 does not, yet.
    await lab.kubectlOk("scale", "deployment", "web", "--replicas=3");
    await applyManifest(lab, nodePortService("late", "web"));
    const three = await waitReadyPods(lab, "app=web", 3);
    const latePort = await nodePortOf("late");
    await answerFromHost(`http://${lab.nodeIp(2)}:${latePort}/`, /^web-/);
    await waitFor("node-2's rules for three pods", async () => (await endpointsInRules("node-2", "web")).length === 3 || undefined, 15_000, 250);
    expect(await endpointsInRules("node-1", "web")).toEqual(podEndpoints(two));
    const before = await httpGet(`http://${lab.nodeIp(1)}:${latePort}/`, 2_000);
    expect(before).toEqual({ ok: false, error: "ECONNREFUSED" });

    await lab.ok(["start", "kube-proxy", "--node", "node-1"]);
    await answerFromHost(`http://${lab.nodeIp(1)}:${latePort}/`, /^web-/);
    await waitFor("node-1's rules for three pods", async () => (await endpointsInRules("node-1", "web")).join() === podEndpoints(three).join() || undefined, 15_000, 250);
    expect(await componentState("kube-proxy", "node-1")).toBe("running");
  }, 120_000);

  it("refuses connections on a deleted Service's NodePort, on every node", async () => {
    const latePort = await nodePortOf("late");
    await lab.kubectlOk("delete", "service", "late");
    for (const node of [1, 2, 3]) {
      await waitFor(`node-${node} refusing :${latePort}`, async () => {
        const got = await httpGet(`http://${lab.nodeIp(node)}:${latePort}/`, 2_000);
        return (!got.ok && got.error === "ECONNREFUSED") || undefined;
      }, 15_000, 250);
    }
    // The Service still there keeps answering.
    await answerFromHost(`http://${lab.nodeIp(3)}:${await nodePortOf("web")}/`, /^web-/);
  });

  it("never sends Service traffic to a deleted pod once it is terminating, though the pod still serves", async () => {
    // The server is the container's pid 1 without a SIGTERM handler: the kernel ignores SIGTERM for it, so the
    // pod stays Terminating (and serving on its own IP) for its whole grace period.
    const loop = `      terminationGracePeriodSeconds: 60
`;
    await applyManifest(lab, `${serveHostname("drain", 3, loop).replace('args: ["serve-hostname"]', 'command: ["sh", "-c", "while true; do nc -l -p 9376 -e /usr/lib/agnhost/serve-hostname-respond; done"]')}---\n${nodePortService("drain", "drain")}`);
    const pods = await waitReadyPods(lab, "app=drain", 3);
    const drainPort = await nodePortOf("drain");
    for (const node of ["node-1", "node-2", "node-3"]) {
      await waitFor(`${node}'s rules for the three drain pods`, async () => (await endpointsInRules(node, "drain")).length === 3 || undefined, 15_000, 250);
    }
    const victim = pods[0]!;
    await lab.kubectlOk("delete", "pod", victim.metadata.name, "--wait=false");
    await waitFor("the pod Terminating", async () => (await podsOf(lab, "app=drain")).find((p) => p.metadata.name === victim.metadata.name)?.metadata.deletionTimestamp, 10_000, 100);
    // Every node's kube-proxy drops it within moments of the endpoint turning terminating.
    for (const node of ["node-1", "node-2", "node-3"]) {
      await waitFor(`${node} no longer sending to ${victim.metadata.name}`, async () => !(await endpointsInRules(node, "drain")).includes(`${victim.status.podIP ?? ""}:9376`) || undefined, 5_000, 100);
    }
    const answers = new Set<string>();
    for (let i = 0; i < 30; i++) answers.add((await answerFromHost(`http://${lab.nodeIp(1 + (i % 3))}:${drainPort}/`, /^drain-/, 5_000)).trim());
    expect(answers).not.toContain(victim.metadata.name);
    expect(answers.size).toBeGreaterThanOrEqual(2);
    // Still Terminating and still serving on its own IP: the Service chose not to send it anything.
    const still = (await podsOf(lab, "app=drain")).find((p) => p.metadata.name === victim.metadata.name);
    expect(still?.metadata.deletionTimestamp).toBeTruthy();
    expect((await lab.nodeExec("node-2", ["busybox", "wget", "-qO-", `http://${victim.status.podIP ?? ""}:9376/`])).stdout.trim()).toBe(victim.metadata.name);
    await lab.kubectlOk("delete", "deployment", "drain", "--wait=false");
    await lab.kubectl(["delete", "pod", "-l", "app=drain", "--grace-period=0", "--force", "--wait=false"]);
  }, 90_000);

  it("keeps names resolving through the replacements of deleted DNS pods", async () => {
    const web = await service(lab, "web");
    expect(await waitFor("web resolved", () => lookupInPod(lab, "client", "web"), 20_000, 250)).toBe(web.spec.clusterIP);
    const old = await podsOf(lab, "k8s-app=kube-dns", "kube-system");
    expect(old).toHaveLength(2);

    // One deleted: the other keeps answering.
    await lab.kubectlOk("-n", "kube-system", "delete", "pod", old[0]!.metadata.name, "--wait=false");
    expect(await waitFor("web resolved with one DNS pod going", () => lookupInPod(lab, "client", "web.default.svc.cluster.local"), 20_000, 250)).toBe(web.spec.clusterIP);
    // Then the other: the replacements answer.
    await lab.kubectlOk("-n", "kube-system", "delete", "pod", old[1]!.metadata.name, "--wait=false");
    const replacements = await waitFor("two new kube-dns pods ready", async () => {
      const live = (await podsOf(lab, "k8s-app=kube-dns", "kube-system")).filter((p) => !p.metadata.deletionTimestamp);
      return live.length === 2 && live.every((p) => p.status.conditions?.find((c) => c.type === "Ready")?.status === "True") && !live.some((p) => old.some((o) => o.metadata.name === p.metadata.name)) ? live : undefined;
    }, 60_000, 250);
    await waitFor("kube-dns endpoints are the replacements", async () => {
      const ep = JSON.parse(await lab.kubectlOk("-n", "kube-system", "get", "endpoints", "kube-dns", "-o", "json")) as { subsets?: { addresses?: { ip: string }[] }[] };
      const ips = (ep.subsets?.[0]?.addresses ?? []).map((a) => a.ip).sort();
      return ips.join() === replacements.map((p) => p.status.podIP ?? "").sort().join() || undefined;
    }, 20_000, 250);
    expect(await waitFor("web resolved by the replacements", () => lookupInPod(lab, "client", "web"), 20_000, 250)).toBe(web.spec.clusterIP);
    expect(await lookupInPod(lab, "client", "kubernetes.default")).toBe("10.96.0.1");
  }, 120_000);
});
