// The node-status and pod-routes pieces with the control plane that answers them: a real apiserver on etcd and the
// real kube-controller-manager (node IPAM, node lifecycle, garbage collector) as child processes; dist/ must be
// built. Two NodeStatusManagers register nodes without --pod-cidr and get podCIDRs from IPAM; they stay Ready past
// the lifecycle grace period through their Leases; a stopped one turns Unknown and a new one takes it back. A PodRoutes
// over a real Node informer programs the IPAM ranges via the nodes' IPs with the real `ip`, in a throwaway netns.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Node, NodeCondition } from "../../api/types/index.js";
import type * as cri from "../../client/cri/types.js";
import { createInformer, type Informer } from "../../client/informer.js";
import { RestClient } from "../../client/rest.js";
import { FakeRecorder } from "../../client/testing/fake-recorder.js";
import { realClock } from "../../component-base/clock.js";
import { silentLogger } from "../../component-base/logging.js";
import { clientConfigFor, startApiServerProcess, writeKubeconfig, waitFor, type ApiServerProcess } from "../../test/support/apiserver.js";
import { startComponent, type ComponentProcess } from "../../test/support/components.js";
import { startEtcd, type EtcdHandle } from "../../test/support/etcd.js";
import { testProcesses } from "../../test/support/processes.js";
import { NodeStatusManager } from "../nodestatus/node-status.js";
import { PodRoutes, runIp } from "./pod-routes.js";

const NODES = RESOURCES.find((r) => r.resource === "nodes")!;
const execFileAsync = promisify(execFile);
const NETNS = `knode-${randomBytes(4).toString("hex")}`;

const readyRuntime = {
  version: (): Promise<cri.VersionResponse> => Promise.resolve({ version: "0.1.0", runtimeName: "kubelab-runtime", runtimeVersion: "1.0.0", runtimeApiVersion: "v1" }),
  status: (): Promise<cri.StatusResponse> =>
    Promise.resolve({
      conditions: [
        { type: "RuntimeReady", status: true, reason: "", message: "" },
        { type: "NetworkReady", status: true, reason: "", message: "" },
      ],
      info: {},
    }),
};

let etcd: EtcdHandle | undefined;
let apiserver: ApiServerProcess | undefined;
let kubeconfig = "";
let controllerManager: ComponentProcess | undefined;
let client: RestClient;
let informer: Informer<Node>;
const informerStop = new AbortController();
let informerRun: Promise<void> | undefined;
const managers: NodeStatusManager[] = [];
let podRoutes: PodRoutes | undefined;
let netnsMade = false;

async function ip(...args: string[]): Promise<string> {
  return (await execFileAsync("ip", args, { encoding: "utf8" })).stdout;
}

beforeAll(async () => {
  etcd = await startEtcd();
  apiserver = await startApiServerProcess(etcd.endpoint);
  kubeconfig = join(testProcesses.tempDir("host-gw-", tmpdir()), "kubeconfig");
  writeKubeconfig(kubeconfig, apiserver.api);
  controllerManager = startComponent("kube-controller-manager", [
    "--kubeconfig", kubeconfig,
    "--controllers", "nodeipam,nodelifecycle,garbagecollector",
    "--allocate-node-cidrs", "--cluster-cidr", "10.245.0.0/16",
    "--node-monitor-period", "200ms", "--node-monitor-grace-period", "3s",
    "--leader-elect=false", "--port", "0",
  ]);
  client = new RestClient(clientConfigFor(apiserver.api), { qps: 0 });
  informer = createInformer<Node>({ client, resource: NODES, logger: silentLogger() });
  informerRun = informer.run(informerStop.signal);
  await ip("netns", "add", NETNS);
  netnsMade = true;
  await ip("-n", NETNS, "link", "add", "kn0", "type", "veth", "peer", "name", "kn1");
  await ip("-n", NETNS, "addr", "add", "172.31.251.1/24", "dev", "kn0");
  await ip("-n", NETNS, "link", "set", "kn0", "up");
  await ip("-n", NETNS, "link", "set", "kn1", "up");
});

afterAll(async () => {
  await podRoutes?.stop();
  await Promise.all(managers.map((m) => m.stop()));
  informerStop.abort();
  await informerRun;
  client.close();
  await controllerManager?.kill();
  await apiserver?.stop("SIGKILL");
  await etcd?.destroy();
  if (netnsMade) await ip("netns", "del", NETNS);
});

function manager(name: string, nodeIP: string): NodeStatusManager {
  const m = new NodeStatusManager({
    client,
    recorder: new FakeRecorder(),
    clock: realClock,
    logger: silentLogger(),
    runtime: readyRuntime,
    nodeName: name,
    nodeIP,
    kubeletPort: 10250,
    labels: {},
    capacity: { maxPods: 110 },
    statusUpdateFrequencyMs: 500,
    statusReportFrequencyMs: 60_000,
    leaseDurationSeconds: 2,
    rootDir: "/var/lib/kubelet-knode-int",
  });
  managers.push(m);
  return m;
}

const ready = (node: Node | undefined): NodeCondition | undefined => node?.status?.conditions?.find((c) => c.type === "Ready");

describe("node status and host-gw routes with the controller-manager", () => {
  it("registers nodes that get their podCIDR from IPAM, seen by node()", async () => {
    const a = manager("knode-gw-a", "172.31.251.2");
    const b = manager("knode-gw-b", "172.31.251.3");
    await Promise.all([a.start(), b.start()]);
    for (const m of [a, b]) await waitFor("a podCIDR in node()", () => (m.node()?.spec?.podCIDR?.startsWith("10.245.") ? true : undefined), 10_000);
    expect(a.node()?.spec?.podCIDR).not.toBe(b.node()?.spec?.podCIDR);
  });

  it("programs the other nodes' IPAM ranges via their IPs in the kubelet's namespace", async () => {
    // The netns plays a third node's kubelet, "knode-gw-self", which has no Node here: every other node is routed.
    podRoutes = new PodRoutes({ nodeName: "knode-gw-self", nodes: informer, logger: silentLogger(), runIp: (args) => runIp(["-n", NETNS, ...args]) });
    await podRoutes.start();
    const cidrA = managers[0]?.node()?.spec?.podCIDR ?? "";
    const cidrB = managers[1]?.node()?.spec?.podCIDR ?? "";
    const want = [`${cidrA} via 172.31.251.2 dev kn0`, `${cidrB} via 172.31.251.3 dev kn0`].sort();
    const got = await waitFor("both routes", async () => {
      const lines = (await ip("-n", NETNS, "-4", "route", "show", "proto", "151")).split("\n").map((l) => l.trim().replace(/\s+linkdown$/, "")).filter((l) => l !== "").sort();
      return lines.length === 2 ? lines : undefined;
    }, 10_000);
    expect(got).toEqual(want);
  });

  it("stays Ready past the lifecycle grace period, turns Unknown when stopped and Ready again when a new kubelet starts", async () => {
    await new Promise((r) => setTimeout(r, 4_000));
    expect(ready(await client.get<Node>(NODES, undefined, "knode-gw-a"))?.status).toBe("True");
    await managers[0]?.stop();
    await waitFor("Ready=Unknown", async () => (ready(await client.get<Node>(NODES, undefined, "knode-gw-a"))?.status === "Unknown" ? true : undefined), 15_000);
    const again = manager("knode-gw-a", "172.31.251.2");
    await again.start();
    const node = await waitFor("Ready=True", async () => {
      const n = await client.get<Node>(NODES, undefined, "knode-gw-a");
      return ready(n)?.status === "True" ? n : undefined;
    }, 10_000);
    expect(ready(node)?.reason).toBe("KubeletReady");
    expect(ready(await client.get<Node>(NODES, undefined, "knode-gw-b"))?.status).toBe("True");
  });
});
