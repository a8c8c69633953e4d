// The real kube-scheduler and kube-controller-manager (v1.26.1, built as ../shared/peers/README.md says; the folder
// given in KUBELAB_PEERS holds bin/ and pki/) against kubelab's apiserver with hollow nodes. They are the strictest
// clients there are: at start they list and watch every built-in type (their caches must sync), they write every
// kind in protobuf, and the garbage collector and quota controller watch metadata only (PartialObjectMetadata).
// Without the binaries the tests are skipped, saying why.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Component } from "../../lab/components/component.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startTestCluster, waitFor, type TestCluster } from "../support/apiserver.js";
import { startComponent, type ComponentProcess } from "../support/components.js";
import { testProcesses } from "../support/processes.js";

const PEERS = process.env.KUBELAB_PEERS ?? "";
const BINARIES = ["kube-scheduler", "kube-controller-manager"].map((name) => join(PEERS, "bin", name));
const missing = PEERS === "" ? "KUBELAB_PEERS is not set" : BINARIES.filter((path) => !existsSync(path)).map((path) => `${path} is missing`).join(", ");
if (missing !== "") console.log(`SKIP: the real kube-scheduler and kube-controller-manager against kubelab: ${missing} (build them with ../shared/peers/build.sh)`);

/** Log lines that mean an API kubelab serves differently from Kubernetes. */
const API_TROUBLE = /could not find the requested resource|Failed to watch|failed to list|cannot decode|Server rejected event|unable to decode|is not registered|the server does not allow/;

function peer(name: "kube-scheduler" | "kube-controller-manager", args: string[]): Component {
  return { name: `real-${name}`, kind: name, program: { kind: "binary", path: join(PEERS, "bin", name) }, args, ports: {}, links: [] };
}

describe.skipIf(missing !== "")("the real kube-scheduler and kube-controller-manager against kubelab", () => {
  let cluster: TestCluster | undefined;
  let nodes: ComponentProcess | undefined;
  let scheduler: ManagedProcess | undefined;
  let controllerManager: ManagedProcess | undefined;

  function kubectl(...args: string[]): Promise<string> {
    if (!cluster) throw new Error("no cluster");
    return cluster.kubectl(args).then((r) => r.stdout);
  }

  beforeAll(async () => {
    cluster = await startTestCluster();
    nodes = startComponent("kubelab", ["hollow-nodes", `--kubeconfig=${cluster.kubeconfig}`, "--count=3", "--name-prefix=peer-node"]);
    const common = [`--kubeconfig=${cluster.kubeconfig}`, "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false"];
    scheduler = testProcesses.start(peer("kube-scheduler", common));
    controllerManager = testProcesses.start(
      peer("kube-controller-manager", [...common, `--service-account-private-key-file=${join(PEERS, "pki", "sa.key")}`, `--root-ca-file=${join(PEERS, "pki", "ca.crt")}`]),
    );
    await waitFor("3 Ready nodes", async () => ((await kubectl("get", "nodes", "-o", "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}")).split(" ").filter((s) => s === "True").length === 3 ? true : undefined), 60_000, 500);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([scheduler?.stop("SIGKILL"), controllerManager?.stop("SIGKILL"), nodes?.kill()]);
    await cluster?.destroy();
  });

  it("runs a Deployment: the real controllers create its pods, the real scheduler binds them, hollow nodes run them", async () => {
    await kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3");
    await kubectl("rollout", "status", "deployment/web", "--timeout=90s");
    await kubectl("scale", "deployment/web", "--replicas=5");
    await kubectl("rollout", "status", "deployment/web", "--timeout=90s");
    const spread = new Set((await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}")).split(" "));
    expect(spread.size).toBe(3);
    const events = await kubectl("get", "events", "--field-selector=reason=Scheduled", "-o", "jsonpath={.items[*].reportingComponent}");
    expect(events).toContain("default-scheduler");
  }, 240_000);

  it("gives a new namespace its default ServiceAccount and kube-root-ca.crt with the CA the real controller-manager was given", async () => {
    await kubectl("create", "namespace", "peer-ns");
    const ca = await waitFor(
      "kube-root-ca.crt",
      async () => {
        const text = (await cluster?.kubectl(["get", "configmap", "kube-root-ca.crt", "-n", "peer-ns", "-o", "jsonpath={.data.ca\\.crt}"], { allowFailure: true }))?.stdout;
        return text === "" ? undefined : text;
      },
      30_000,
      250,
    );
    expect(ca).toBe(readFileSync(join(PEERS, "pki", "ca.crt"), "utf8"));
    await waitFor("the default ServiceAccount", async () => ((await cluster?.kubectl(["get", "serviceaccount", "default", "-n", "peer-ns"], { allowFailure: true }))?.code === 0 ? true : undefined), 30_000, 250);
  }, 90_000);

  it("collects garbage through metadata-only watches: deleting the Deployment removes its ReplicaSet and pods", async () => {
    await kubectl("delete", "deployment", "web", "--wait=false");
    await waitFor("the ReplicaSet and pods gone", async () => ((await kubectl("get", "replicasets,pods", "-l", "app=web", "-o", "name")).trim() === "" ? true : undefined), 60_000, 500);
  }, 90_000);

  it("logged no sign of an API that differs from Kubernetes'", () => {
    const troubles = [...(scheduler?.logs() ?? "").split("\n"), ...(controllerManager?.logs() ?? "").split("\n")].filter((line) => API_TROUBLE.test(line));
    expect(troubles).toEqual([]);
  });
});
