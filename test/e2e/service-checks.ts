// What the Service e2e files (scenario-labels-services, services-healing) check through a TestLab, as a user would:
// kubectl apply of manifests, HTTP from the host (which sits on the lab bridge, outside every node), from a node
// (`kubelab node-exec`) and from inside a pod (`kubectl exec`), and name lookups through the cluster DNS.
import { execFile } from "node:child_process";
import { join } from "node:path";
import type { TestLab } from "../../lab/up/throwaway.js";
import { waitFor } from "../support/apiserver.js";

export interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  spec: { nodeName?: string; containers: { image: string; env?: { name: string; value?: string }[] }[] };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number; ready: boolean; containerID?: string }[] };
}

export interface ServiceJson {
  spec: { clusterIP: string; type?: string; ports: { port: number; nodePort?: number }[]; selector?: Record<string, string> };
}

/** kubectl apply -f - with the manifest on stdin; rejects with kubectl's stderr. */
export function applyManifest(lab: TestLab, manifest: string, namespace?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ["--kubeconfig", lab.kubeconfig, "--cache-dir", join(lab.home, "kubectl-cache"), ...(namespace ? ["-n", namespace] : []), "apply", "-f", "-"];
    const child = execFile("kubectl", args, { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl apply: ${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end(manifest);
  });
}

export async function podsOf(lab: TestLab, selector: string, namespace = "default"): Promise<PodJson[]> {
  return (JSON.parse(await lab.kubectlOk("-n", namespace, "get", "pods", "-l", selector, "-o", "json")) as { items: PodJson[] }).items;
}

export const isReady = (pod: PodJson): boolean => pod.status.phase === "Running" && pod.status.conditions?.find((c) => c.type === "Ready")?.status === "True";

/** Waits for exactly `count` live (not terminating) pods matching `selector`, all Running and Ready. */
export function waitReadyPods(lab: TestLab, selector: string, count: number, namespace = "default", timeoutMs = 60_000): Promise<PodJson[]> {
  return waitFor(`${count} ready pods ${selector}`, async () => {
    const live = (await podsOf(lab, selector, namespace)).filter((p) => !p.metadata.deletionTimestamp);
    return live.length === count && live.every(isReady) ? live : undefined;
  }, timeoutMs, 250);
}

export async function service(lab: TestLab, name: string, namespace = "default"): Promise<ServiceJson> {
  return JSON.parse(await lab.kubectlOk("-n", namespace, "get", "service", name, "-o", "json")) as ServiceJson;
}

export type HttpOutcome = { ok: true; body: string } | { ok: false; error: string };

/** One GET from the host (the lab bridge's address as its source), with a deadline; never rejects. */
export async function httpGet(url: string, timeoutMs = 3_000): Promise<HttpOutcome> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: "close" } });
    return { ok: true, body: await response.text() };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, error: cause ?? (err instanceof Error ? err.name : String(err)) };
  }
}

/** Retries GET url from the host until the body contains `expected` (a server in a new pod opens its port late). */
export async function answerFromHost(url: string, expected: string | RegExp, timeoutMs = 30_000): Promise<string> {
  let last = "";
  try {
    return await waitFor(`${String(expected)} from ${url}`, async () => {
      const got = await httpGet(url);
      last = got.ok ? got.body : got.error;
      return got.ok && (typeof expected === "string" ? got.body.includes(expected) : expected.test(got.body)) ? got.body : undefined;
    }, timeoutMs, 250);
  } catch (err) {
    throw new Error(`${String(err)}; last answer: ${last}`);
  }
}

/** `wget -qO- URL` inside a pod (busybox 1.35's `wget -T` crashes, hence `timeout`); never rejects. */
export async function wgetInPod(lab: TestLab, pod: string, url: string, namespace = "default"): Promise<{ code: number; out: string }> {
  const result = await lab.kubectl(["-n", namespace, "exec", pod, "--", "timeout", "5", "wget", "-qO-", url], 20_000);
  return { code: result.code, out: result.stdout + result.stderr };
}

/** Retries wget URL in a pod until the answer contains `expected`. */
export function answerInPod(lab: TestLab, pod: string, url: string, expected: string | RegExp, namespace = "default", timeoutMs = 30_000): Promise<string> {
  return waitFor(`${String(expected)} from ${url} in pod ${pod}`, async () => {
    const got = await wgetInPod(lab, pod, url, namespace);
    return got.code === 0 && (typeof expected === "string" ? got.out.includes(expected) : expected.test(got.out)) ? got.out : undefined;
  }, timeoutMs, 250);
}

/**
 * The address `name` resolves to in a pod, as its programs see it: libc's resolver with the pod's resolv.conf (the
 * cluster DNS, the namespace's search path, ndots:5), shown by ping's first line; undefined when it does not resolve.
 * (busybox nslookup applies the search path only to names without a dot, so `nslookup svc.ns` would not do.)
 */
export async function lookupInPod(lab: TestLab, pod: string, name: string, namespace = "default"): Promise<string | undefined> {
  const result = await lab.kubectl(["-n", namespace, "exec", pod, "--", "ping", "-c", "1", "-W", "1", name], 20_000);
  return new RegExp(`^PING ${name.replace(/\./g, "\\.")} \\(([\\d.]+)\\)`, "m").exec(result.stdout)?.[1];
}

/** A busybox pod to run wget and nslookup in. */
export function clientPodManifest(name: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: client
    image: busybox
    command: ["sleep", "3600"]
`;
}
