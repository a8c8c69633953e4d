// The endpointslicemirroring controller in a real kube-controller-manager process (--controllers=endpointslicemirroring,
// --use-service-account-credentials, so it writes as kube-system/endpointslicemirroring-controller under RBAC)
// against a real apiserver on a real etcd. Reproduces the checks of Kubernetes' conformance test "EndpointSlice
// should mirror a custom Endpoints resource through create update and delete" (test/e2e/network/
// endpointslicemirroring.go), with its 12-second limit per step, plus the skip-mirror label.
// CM_LOGS=<file> keeps the controller-manager's (--v=4) log.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../../api/resources.js";
import type { Endpoints, EndpointSlice, Service } from "../../../api/types/index.js";
import { RestClient } from "../../../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../../../test/support/apiserver.js";
import { startComponent, type ComponentProcess } from "../../../test/support/components.js";
import { freePort } from "../../../test/support/etcd.js";

const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const ENDPOINTS = RESOURCES.find((r) => r.group === "" && r.resource === "endpoints")!;
const SLICES = RESOURCES.find((r) => r.group === "discovery.k8s.io" && r.resource === "endpointslices")!;
const STEP_MS = 12_000;

describe("endpointslicemirroring (real apiserver with RBAC, real controller-manager)", () => {
  let cluster: TestCluster;
  let manager: ComponentProcess;
  let client: RestClient;

  beforeAll(async () => {
    cluster = await startTestCluster(["--authorization-mode=Node,RBAC"]);
    const port = await freePort();
    manager = startComponent("kube-controller-manager", [
      "--kubeconfig", cluster.kubeconfig, "--port", String(port), "--leader-elect=false", "--v=4",
      "--use-service-account-credentials", "--controllers=endpointslicemirroring",
    ]);
    await waitFor("controller-manager /healthz", async () => {
      if (!manager.running) throw new Error(`controller-manager exited: ${manager.logs().slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) || undefined;
    }, 20_000);
    client = new RestClient(clientConfigFor(cluster.api), { userAgent: "int-test" });
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await manager?.kill("SIGTERM");
    if (process.env.CM_LOGS) writeFileSync(process.env.CM_LOGS, manager.logs());
    await cluster?.destroy();
  });

  const slicesOf = async (service: string): Promise<EndpointSlice[]> =>
    (await client.list<EndpointSlice>(SLICES, "default", { labelSelector: `kubernetes.io/service-name=${service}` })).items;

  /** Resolves once every slice of `service` has port 80 and one endpoint whose only address is `ip`, and `count` holds. */
  const waitForMirror = (service: string, ip: string, exactlyOne: boolean): Promise<EndpointSlice[]> =>
    waitFor(`a slice of ${service} with ${ip}`, async () => {
      const slices = await slicesOf(service);
      if (slices.length === 0 || (exactlyOne && slices.length !== 1)) return undefined;
      const right = slices.every((s) => s.ports?.length === 1 && s.ports[0]!.port === 80 && s.endpoints?.length === 1 && s.endpoints[0]!.addresses.length === 1 && s.endpoints[0]!.addresses[0] === ip);
      return right ? slices : undefined;
    }, STEP_MS, 200);

  it("mirrors a custom Endpoints resource through create, update and delete", async () => {
    const svc: Service = { apiVersion: "v1", kind: "Service", metadata: { name: "example-custom-endpoints" }, spec: { ports: [{ name: "example", port: 80, protocol: "TCP" }] } };
    await client.create(SERVICES, "default", svc);
    const endpoints: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "example-custom-endpoints" }, subsets: [{ ports: [{ port: 80 }], addresses: [{ ip: "10.1.2.3" }] }] };
    const created = await client.create(ENDPOINTS, "default", endpoints);

    const [slice] = await waitForMirror("example-custom-endpoints", "10.1.2.3", false);
    expect(slice!.metadata.labels?.["endpointslice.kubernetes.io/managed-by"]).toBe("endpointslicemirroring-controller.k8s.io");
    expect(slice!.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Endpoints", name: "example-custom-endpoints", uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(slice!.addressType).toBe("IPv4");
    expect(slice!.ports).toEqual([{ name: "", port: 80, protocol: "TCP" }]);
    expect(slice!.endpoints![0]!.conditions).toEqual({ ready: true });

    await client.update(ENDPOINTS, "default", { ...created, subsets: [{ ports: [{ port: 80 }], addresses: [{ ip: "10.2.3.4" }] }] });
    const [updated] = await waitForMirror("example-custom-endpoints", "10.2.3.4", true);
    expect(updated!.metadata.name).toBe(slice!.metadata.name);

    await client.delete(ENDPOINTS, "default", "example-custom-endpoints");
    await waitFor("no slices of example-custom-endpoints", async () => ((await slicesOf("example-custom-endpoints")).length === 0 ? true : undefined), STEP_MS, 200);
  }, 60_000);

  it("leaves an Endpoints labelled skip-mirror alone, and deletes the mirror once the label is set", async () => {
    for (const name of ["skipped", "labelled-later"]) {
      await client.create(SERVICES, "default", { apiVersion: "v1", kind: "Service", metadata: { name }, spec: { ports: [{ port: 80, protocol: "TCP" }] } } satisfies Service);
    }
    await client.create(ENDPOINTS, "default", { apiVersion: "v1", kind: "Endpoints", metadata: { name: "skipped", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } }, subsets: [{ ports: [{ port: 80 }], addresses: [{ ip: "10.3.0.1" }] }] } satisfies Endpoints);
    const later = await client.create(ENDPOINTS, "default", { apiVersion: "v1", kind: "Endpoints", metadata: { name: "labelled-later" }, subsets: [{ ports: [{ port: 80 }], addresses: [{ ip: "10.3.0.2" }] }] } satisfies Endpoints);
    // The second Endpoints was mirrored, so the first one (written before it) was seen and skipped.
    await waitForMirror("labelled-later", "10.3.0.2", true);
    expect(await slicesOf("skipped")).toEqual([]);

    await client.update(ENDPOINTS, "default", { ...later, metadata: { ...later.metadata, labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } } });
    await waitFor("the mirror of labelled-later deleted", async () => ((await slicesOf("labelled-later")).length === 0 ? true : undefined), STEP_MS, 200);
  }, 60_000);

  it("wrote everything as kube-system/endpointslicemirroring-controller, whose bootstrap role allowed it", async () => {
    // kubectl auth can-i prints yes or no, and exits 1 for no.
    const can = async (...args: string[]): Promise<string> => {
      const out = await cluster.kubectl(["auth", "can-i", ...args, "--namespace=default", "--as=system:serviceaccount:kube-system:endpointslicemirroring-controller"]).then((r) => r.stdout, (err: unknown) => String(err));
      return /(yes|no)\s*$/.exec(out)?.[1] ?? out;
    };
    expect(await can("create", "endpointslices.discovery.k8s.io")).toBe("yes");
    expect(await can("update", "endpoints", "--subresource=finalizers")).toBe("yes");
    expect(await can("create", "pods")).toBe("no");
    await client.get(RESOURCES.find((r) => r.group === "" && r.resource === "serviceaccounts")!, "kube-system", "endpointslicemirroring-controller");
    expect(manager.logs()).not.toMatch(/Forbidden/);
  }, 30_000);
});
