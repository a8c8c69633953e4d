// A real `kubelab up --nodes 2` (secure: the default; --secure is passed to show it stays accepted), as kubeadm sets a cluster up: the apiserver on HTTPS with client
// certificates, Node,RBAC and NodeRestriction, every component with its own identity. Driven as a user would: the
// real kubectl with the lab's admin kubeconfig and with a kubelet's own kubeconfig, curl on the host with no
// credential, and curl inside a node with a service account's token. The lab is taken down in afterAll even when a
// test failed.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labPkiPaths } from "../../lab/pki/pki.js";
import { run } from "../../lab/up/host.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { waitFor } from "../support/apiserver.js";
import { CONTROLLER_SERVICE_ACCOUNTS } from "../../controller-manager/client-builder.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`lab-secure.int.test: skipped: ${prerequisites.reason}`);

const lab = new TestLab("e2esec");
let securePort = 0;

function pki(): ReturnType<typeof labPkiPaths> {
  return labPkiPaths(join(lab.home, "pki"));
}

/** The real kubectl with another kubeconfig than the admin's; never rejects. */
function kubectlAs(kubeconfig: string, args: readonly string[]): ReturnType<TestLab["kubectl"]> {
  return lab.kubectl(["--kubeconfig", kubeconfig, ...args]);
}

describe.skipIf(!prerequisites.ok)("a secure 2-node kubelab", () => {
  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      // --secure is the default now; it stays accepted.
      await lab.up(2, ["--secure"]);
      securePort = lab.securePort;
    });
  }, 200_000);

  afterAll(() => lab.downCleanly(), 180_000);

  it("gives the user kubeadm's admin: TLS to the secure port and a certificate in system:masters", async () => {
    const config = readFileSync(lab.kubeconfig, "utf8");
    expect(config).toContain(`:${securePort}`);
    expect(config).toContain("https://");
    expect(config).toContain("client-certificate-data");
    const whoami = await lab.kubectlOk("auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}");
    expect(whoami).toContain("kubernetes-admin");
    expect(whoami).toContain("system:masters");
    expect((await lab.kubectlOk("get", "nodes", "--no-headers")).trim().split("\n")).toHaveLength(2);
  });

  it("has no insecure port: the lab's own bookkeeping and health checks go over HTTPS with the admin's certificate", async () => {
    const state = JSON.parse(readFileSync(join(lab.home, "lab.json"), "utf8")) as { config: { secure?: boolean } };
    expect(state.config.secure).toBe(true);
    const status = JSON.parse(await lab.ok(["status", "-o", "json"])) as { components: { component: string; health: string; command: string; metricsUrl?: string }[] };
    const apiserver = status.components.find((c) => c.component === "kube-apiserver");
    expect(apiserver?.command).toContain("--insecure-port=0");
    expect(apiserver?.command).not.toContain("--insecure-bind-address");
    expect(apiserver?.metricsUrl).toBe(`https://${lab.bridgeIp}:${securePort}/metrics`);
    // Nothing answers plain HTTP on the port an insecure lab would use, on loopback or the bridge.
    for (const host of ["127.0.0.1", lab.bridgeIp]) expect((await run(["curl", "-sS", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}", `http://${host}:${lab.apiserverPort}/version`]).catch((err: unknown) => String(err)))).not.toBe("200");
    // Every component healthy, the apiserver's health probed over HTTPS with the lab's CA.
    await waitFor("every component healthy", async () => {
      const now = JSON.parse(await lab.ok(["status", "-o", "json"])) as typeof status;
      return now.components.every((c) => c.health === "ok") ? true : undefined;
    }, 30_000, 500);
    // The storage class and the DNS add-on were made by the lab (as the admin), the tools' RBAC too.
    expect(await lab.kubectlOk("get", "storageclass", "standard", "-o", "name")).toContain("storageclass.storage.k8s.io/standard");
    expect(await lab.kubectlOk("get", "clusterrolebinding", "kubelab:prometheus", "-o", "name")).toContain("kubelab:prometheus");
  });

  it("adds and removes a node with its own identity, the lab waiting for it and deleting its Node over HTTPS", async () => {
    const added = await lab.ok(["add-node"], 150_000);
    expect(added).toContain("node-3: Ready");
    lab.nodes = 3;
    expect((await kubectlAs(pki().node("node-3").client.kubeconfig, ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])).stdout).toBe("system:node:node-3");
    await lab.ok(["remove-node", "node-3"]);
    await waitFor("node-3's Node deleted", async () => ((await lab.kubectl(["get", "node", "node-3"])).code !== 0 ? true : undefined), 15_000, 250);
  }, 180_000);

  it("refuses a request without credentials (401 on every path but the public health endpoints; a bad token: 401) but answers /readyz and /version anonymously", async () => {
    // curl with the cluster CA and no credential: the lab's --authentication-config allows anonymous requests only on
    // /healthz, /livez, /readyz and /version (Kubernetes 1.32's anonymous conditions).
    const server = /server: (\S+)/.exec(readFileSync(lab.kubeconfig, "utf8"))?.[1] ?? "";
    const curl = async (path: string, extra: string[] = []): Promise<string> => (await run(["curl", "-sS", "-m", "5", "--cacert", pki().caCert, ...extra, "-w", "\n%{http_code}", `${server}${path}`]));
    for (const path of ["/api/v1/pods", "/api", "/apis", "/metrics", "/openapi/v2"]) {
      const reply = await curl(path);
      expect(reply, path).toContain('"reason":"Unauthorized"');
      expect(reply.endsWith("\n401"), `${path}: ${reply}`).toBe(true);
    }
    expect(await curl("/readyz")).toBe("ok\n200");
    expect((await curl("/version")).endsWith("\n200")).toBe(true);
    const badToken = await curl("/api/v1/pods", ["-H", "Authorization: Bearer not-a-token"]);
    expect(badToken).toContain('"reason":"Unauthorized"');
    expect(badToken.endsWith("\n401")).toBe(true);
  });

  it("runs a Deployment's pods with the scheduler's and controller-manager's own identities, and logs/exec reach the kubelets", async () => {
    await lab.kubectlOk("create", "deployment", "sec", "--image=busybox", "--replicas=2", "--", "sh", "-c", "echo secure-hello; sleep 3600");
    await waitFor("2 sec pods Running", async () => {
      const phases = (await lab.kubectl(["get", "pods", "-l", "app=sec", "-o", "jsonpath={.items[*].status.phase}"])).stdout.split(" ");
      return phases.length === 2 && phases.every((p) => p === "Running") ? true : undefined;
    }, 90_000, 500);
    expect(await lab.kubectlOk("logs", "deployment/sec")).toContain("secure-hello");
    expect(await lab.kubectlOk("exec", "deployment/sec", "--", "echo", "exec-ok")).toContain("exec-ok");
    // The DNS pods read Services and EndpointSlices as the kube-dns service account, through the kubernetes Service.
    expect(await lab.kubectlOk("rollout", "status", "deployment/kube-dns", "--namespace=kube-system", "--timeout=60s")).toContain("successfully rolled out");
  }, 120_000);

  it("runs a StatefulSet whose claim the scheduler, the binder and the local-path provisioner bind, each as itself", async () => {
    const manifest = [
      "apiVersion: apps/v1",
      "kind: StatefulSet",
      "metadata: {name: secweb}",
      "spec:",
      "  serviceName: secweb",
      "  replicas: 1",
      "  selector: {matchLabels: {app: secweb}}",
      "  template:",
      "    metadata: {labels: {app: secweb}}",
      "    spec: {containers: [{name: c, image: busybox, command: [sh, -c, 'echo stateful > /data/f; sleep 3600'], volumeMounts: [{name: data, mountPath: /data}]}]}",
      "  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}}]",
    ].join("\n");
    const file = join(lab.home, "secweb.yaml");
    writeFileSync(file, manifest);
    await lab.kubectlOk("apply", "-f", file);
    await waitFor("secweb-0 Running with its claim Bound", async () => {
      const phase = (await lab.kubectl(["get", "pod", "secweb-0", "-o", "jsonpath={.status.phase}"])).stdout;
      const claim = (await lab.kubectl(["get", "pvc", "data-secweb-0", "-o", "jsonpath={.status.phase}"])).stdout;
      return phase === "Running" && claim === "Bound" ? true : undefined;
    }, 90_000, 500);
    expect(await lab.kubectlOk("exec", "secweb-0", "--", "cat", "/data/f")).toContain("stateful");
  }, 120_000);

  it("shows kubectl top: metrics-server scrapes the HTTPS kubelets with its own certificate, checked against the lab's CA", async () => {
    const rows = await waitFor("kubectl top nodes with both nodes", async () => {
      const result = await lab.kubectl(["top", "nodes", "--no-headers"]);
      const lines = result.stdout.trim().split("\n").filter((l) => l.trim() !== "");
      return result.code === 0 && lines.length === 2 ? lines : undefined;
    }, 90_000, 1_000);
    for (const row of rows) expect(row).toMatch(/^node-[12]\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/);
  }, 100_000);

  it("lets a kubelet read nodes but not change another Node (Node authorizer + NodeRestriction)", async () => {
    const node1 = pki().node("node-1").client.kubeconfig;
    expect((await kubectlAs(node1, ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])).stdout).toBe("system:node:node-1");
    expect((await kubectlAs(node1, ["get", "node", "node-2", "-o", "name"])).stdout.trim()).toBe("node/node-2");
    const labelOther = await kubectlAs(node1, ["label", "node", "node-2", "e2esec=yes"]);
    expect(labelOther.code).not.toBe(0);
    expect(labelOther.stderr).toMatch(/forbidden/i);
    const secrets = await kubectlAs(node1, ["get", "secrets", "-A"]);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toMatch(/forbidden/i);
  });

  it("authorizes a user by RBAC: view in one namespace, nothing elsewhere", async () => {
    await lab.kubectlOk("create", "namespace", "e2esec");
    await lab.kubectlOk("create", "rolebinding", "jane-view", "--clusterrole=view", "--user=jane", "--namespace=e2esec");
    expect((await lab.kubectl(["auth", "can-i", "list", "pods", "--namespace=e2esec", "--as=jane"])).stdout.trim()).toBe("yes");
    expect((await lab.kubectl(["auth", "can-i", "list", "pods", "--namespace=default", "--as=jane"])).stdout.trim()).toBe("no");
    expect((await lab.kubectl(["auth", "can-i", "create", "pods", "--namespace=e2esec", "--as=jane"])).stdout.trim()).toBe("no");
    const denied = await lab.kubectl(["get", "pods", "--namespace=default", "--as=jane"]);
    expect(denied.stderr).toContain('pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"');
  });

  it("accepts a service account's token from inside a node over the kubernetes Service, with the cluster CA", async () => {
    await lab.kubectlOk("create", "serviceaccount", "reader", "--namespace=e2esec");
    const token = (await lab.kubectlOk("create", "token", "reader", "--namespace=e2esec")).trim();
    const url = "https://10.96.0.1/api/v1/namespaces/e2esec/pods";
    const curl = (): ReturnType<TestLab["nodeExec"]> => lab.nodeExec("node-1", ["curl", "-sS", "-m", "5", "--cacert", pki().caCert, "-H", `Authorization: Bearer ${token}`, "-o", "/dev/null", "-w", "%{http_code}", url], 15_000);
    expect((await curl()).stdout).toBe("403");
    await lab.kubectlOk("create", "rolebinding", "reader-view", "--clusterrole=view", "--serviceaccount=e2esec:reader", "--namespace=e2esec");
    await waitFor("the reader's list allowed", async () => ((await curl()).stdout === "200" ? true : undefined), 15_000, 250);
    const bad = await lab.nodeExec("node-1", ["curl", "-sS", "-m", "5", "--cacert", pki().caCert, "-H", "Authorization: Bearer not-a-token", "-o", "/dev/null", "-w", "%{http_code}", url], 15_000);
    expect(bad.stdout).toBe("401");
  });

  it("runs each controller as its own kube-system service account (--use-service-account-credentials), none refused", async () => {
    // The controller-manager's identity has only Kubernetes' system:kube-controller-manager role: it cannot write pods.
    expect((await lab.kubectl(["auth", "can-i", "create", "pods", "--namespace=default", "--as=system:kube-controller-manager"])).stdout.trim()).toBe("no");
    expect((await lab.kubectl(["auth", "can-i", "create", "pods", "--namespace=default", "--as=system:serviceaccount:kube-system:replicaset-controller"])).stdout.trim()).toBe("yes");
    const accounts = (await lab.kubectlOk("get", "serviceaccounts", "--namespace=kube-system", "-o", "jsonpath={.items[*].metadata.name}")).split(" ");
    expect(accounts).toEqual(expect.arrayContaining(["replicaset-controller", "deployment-controller", "node-controller", "namespace-controller", "generic-garbage-collector"]));
    // The namespace controller empties and finalizes a namespace as namespace-controller.
    await lab.kubectlOk("delete", "namespace", "e2esec", "--timeout=60s");
    const controllers = new Set(Object.values(CONTROLLER_SERVICE_ACCOUNTS).map((a) => `system:serviceaccount:kube-system:${a}`));
    const refused = readFileSync(join(lab.home, "logs", "kube-apiserver.log"), "utf8")
      .split("\n")
      .filter((line) => line.includes('"Forbidden"'))
      .map((line) => JSON.parse(line) as { user?: string; verb?: string; resource?: string; subresource?: string })
      .filter((entry) => controllers.has(entry.user ?? ""))
      .map((entry) => `${entry.user ?? ""} ${entry.verb ?? ""} ${entry.resource ?? ""}${entry.subresource ? `/${entry.subresource}` : ""}`);
    expect(refused).toEqual([]);
  }, 90_000);
});
