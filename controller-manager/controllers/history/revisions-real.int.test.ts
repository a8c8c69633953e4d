// ControllerRevision data, byte for byte, from kubelab's DaemonSet and StatefulSet controllers and from the real
// kube-controller-manager v1.26.1 (KUBELAB_PEERS/bin), for the same objects on one kubelab apiserver: first the real
// controllers make revisions of a DaemonSet and a StatefulSet in namespace `real`, then, with them stopped, kubelab's
// controller-manager makes revisions of the same objects in namespace `lab`. Go clients (the e2e tests' daemon.Match,
// the real controllers) compare these bytes. Needs dist/ (build first); without the peers' binary it is skipped,
// saying why.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { goJsonString } from "../../../api/go-json.js";
import type { ControllerRevision } from "../../../api/types/admissionregistration.js";
import { fetchAs, startTestCluster, waitFor, type TestCluster } from "../../../test/support/apiserver.js";
import { startComponent, type ComponentProcess } from "../../../test/support/components.js";
import { testProcesses } from "../../../test/support/processes.js";

const PEERS = process.env.KUBELAB_PEERS ?? "";
const REAL_KCM = join(PEERS, "bin", "kube-controller-manager");
const missing = PEERS === "" ? "KUBELAB_PEERS is not set" : existsSync(REAL_KCM) ? "" : `${REAL_KCM} is missing`;
if (missing !== "") console.log(`SKIP: ControllerRevision data against the real kube-controller-manager: ${missing} (see ../shared/peers/README.md)`);

/** A template that makes Go write many unset fields, with characters Go's JSON escapes. */
const TEMPLATE = {
  metadata: { labels: { app: "rev" }, annotations: { "example.com/note": "a < b && c > d" } },
  spec: {
    initContainers: [{ name: "init", image: "busybox", command: ["sh", "-c", "true && echo <ok>"] }],
    containers: [
      {
        name: "main",
        image: "nginx:1.25",
        args: ["--flag=x&y"],
        ports: [{ containerPort: 8080, name: "http" }],
        resources: { limits: { cpu: "1000m", memory: "1024Mi" }, requests: { cpu: 0.5 } },
        env: [
          { name: "PLAIN", value: "v" },
          { name: "LIMIT", valueFrom: { resourceFieldRef: { resource: "limits.memory" } } },
          { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        ],
        readinessProbe: { httpGet: { path: "/healthz", port: "http", httpHeaders: [{ name: "X-Empty", value: "" }] } },
        volumeMounts: [{ name: "scratch", mountPath: "/scratch" }, { name: "info", mountPath: "/info" }],
      },
    ],
    volumes: [
      { name: "scratch", emptyDir: {} },
      { name: "info", projected: { sources: [{ downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } }, { configMap: { name: "cm", items: [{ key: "k", path: "p" }] } }] } },
    ],
    affinity: {
      nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] } }] },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "rev" } } } }] },
    },
    tolerations: [{ operator: "Exists" }],
  },
};

function daemonSet(namespace: string, image: string): object {
  const template = structuredClone(TEMPLATE);
  template.spec.containers[0]!.image = image;
  return { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "rev", namespace }, spec: { selector: { matchLabels: { app: "rev" } }, template } };
}

function statefulSet(namespace: string): object {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "rev", namespace },
    spec: { serviceName: "rev", replicas: 0, selector: { matchLabels: { app: "rev" } }, template: structuredClone(TEMPLATE) },
  };
}

describe.skipIf(missing !== "")("ControllerRevision data: kubelab's controllers against the real kube-controller-manager", () => {
  let cluster: TestCluster;
  let realKcm: ReturnType<typeof testProcesses.start> | undefined;
  let labKcm: ComponentProcess | undefined;

  beforeAll(async () => {
    cluster = await startTestCluster();
    for (const ns of ["real", "lab"]) await cluster.kubectl(["create", "namespace", ns]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([realKcm?.stop("SIGKILL"), labKcm?.kill()]);
    await cluster?.destroy();
  });

  async function apply(object: object): Promise<void> {
    await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(object) });
  }

  /** The namespace's revisions as the apiserver serves them (members in the order they were written), by revision number. */
  async function revisions(namespace: string, owner: string): Promise<ControllerRevision[]> {
    const response = await fetchAs(cluster.api, `/apis/apps/v1/namespaces/${namespace}/controllerrevisions`);
    const list = (await response.json()) as { items: ControllerRevision[] };
    return list.items.filter((r) => r.metadata.ownerReferences?.some((o) => o.kind === owner)).sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  }

  async function waitForRevisions(namespace: string, owner: string, count: number): Promise<ControllerRevision[]> {
    return waitFor(`${count} ${owner} revisions in ${namespace}`, async () => {
      const found = await revisions(namespace, owner);
      return found.length === count ? found : undefined;
    }, 60_000, 250);
  }

  it("writes the same data bytes as the real controllers, and a StatefulSet's revision gets the same name", async () => {
    realKcm = testProcesses.start({
      name: "real-kube-controller-manager",
      kind: "kube-controller-manager",
      program: { kind: "binary", path: REAL_KCM },
      args: [`--kubeconfig=${cluster.kubeconfig}`, "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false", "--controllers=daemonset,statefulset"],
      ports: {},
      links: [],
    });
    await apply(daemonSet("real", "nginx:1.25"));
    await apply(statefulSet("real"));
    await waitForRevisions("real", "DaemonSet", 1);
    await apply(daemonSet("real", "nginx:1.26"));
    const realDs = await waitForRevisions("real", "DaemonSet", 2);
    const realSts = await waitForRevisions("real", "StatefulSet", 1);
    await realKcm.stop("SIGKILL");
    realKcm = undefined;

    labKcm = startComponent("kube-controller-manager", ["--kubeconfig", cluster.kubeconfig, "--leader-elect=false", "--controllers=daemonset,statefulset"], "revisions-kube-controller-manager");
    await apply(daemonSet("lab", "nginx:1.25"));
    await apply(statefulSet("lab"));
    await waitForRevisions("lab", "DaemonSet", 1);
    await apply(daemonSet("lab", "nginx:1.26"));
    const labDs = await waitForRevisions("lab", "DaemonSet", 2);
    const labSts = await waitForRevisions("lab", "StatefulSet", 1);

    // The bytes Go holds: the JSON as each controller wrote it (member order kept by the apiserver), Go-escaped.
    const bytes = (r: ControllerRevision): string => goJsonString(r.data);
    expect(bytes(labDs[0]!)).toBe(bytes(realDs[0]!));
    expect(bytes(labDs[1]!)).toBe(bytes(realDs[1]!));
    expect(bytes(labSts[0]!)).toBe(bytes(realSts[0]!));
    expect(bytes(realDs[0]!)).toContain('"creationTimestamp":null');
    expect(bytes(realDs[0]!)).toContain("\\u0026\\u0026");
    // history.HashControllerRevision: the StatefulSet revision's name is the same hash of the same bytes.
    expect(labSts[0]!.metadata.name).toBe(realSts[0]!.metadata.name);
    expect(labSts[0]!.metadata.labels?.["controller.kubernetes.io/hash"]).toBe(realSts[0]!.metadata.labels?.["controller.kubernetes.io/hash"]);

    // kubelab's controllers take the real controllers' revisions for their templates: no new revision in `real`
    // (its DaemonSet was queued when kubelab's controller started, before the `lab` objects existed).
    expect((await revisions("real", "DaemonSet")).map((r) => r.metadata.name)).toEqual(realDs.map((r) => r.metadata.name));
    expect((await revisions("real", "StatefulSet")).map((r) => r.metadata.name)).toEqual(realSts.map((r) => r.metadata.name));
  }, 240_000);
});
