// A test cluster with the workload machinery on simulated nodes: a controller-manager, a scheduler and N hollow nodes
// (one `kubelab hollow-nodes` process), all with the cluster's kubeconfig, returned once every node is Ready.
import { startTestCluster, waitFor, type TestCluster } from "./apiserver.js";
import { startComponent, startComponentOnFreePort, type ComponentProcess } from "./components.js";

export interface HollowCluster {
  cluster: TestCluster;
  /** With its metrics/health URL. */
  controllerManager: ComponentProcess & { url: string };
  /** Every process started besides etcd and the apiserver. */
  components: ComponentProcess[];
  /** Kills the processes and tears the cluster down. */
  destroy(): Promise<void>;
}

export interface HollowClusterOptions {
  /** Hollow nodes, named `<name>-hn-<i>` and labelled type=hollow (2 by default). */
  nodes?: number;
  /** Flags for the controller-manager after the ones every such cluster needs. */
  controllerManagerArgs?: readonly string[];
  /** Flags for `kubelab hollow-nodes` after the ones every such cluster needs. */
  hollowArgs?: readonly string[];
}

/** `name` prefixes the processes' and nodes' names so that parallel runs do not collide. */
export async function startHollowCluster(name: string, options: HollowClusterOptions = {}): Promise<HollowCluster> {
  const nodes = options.nodes ?? 2;
  const cluster = await startTestCluster();
  const components: ComponentProcess[] = [];
  const destroy = async (): Promise<void> => {
    for (const c of components) await c.kill();
    await cluster.destroy();
  };
  try {
    const kubeconfig = ["--kubeconfig", cluster.kubeconfig];
    const controllerManager = await startComponentOnFreePort(
      "kube-controller-manager",
      [...kubeconfig, "--leader-elect=false", "--allocate-node-cidrs", "--cluster-cidr=10.244.0.0/16", ...(options.controllerManagerArgs ?? [])],
      `${name}-cm`,
    );
    components.push(controllerManager);
    components.push(await startComponentOnFreePort("kube-scheduler", [...kubeconfig, "--leader-elect=false"], `${name}-scheduler`));
    components.push(startComponent("kubelab", ["hollow-nodes", ...kubeconfig, "--count", String(nodes), "--name-prefix", `${name}-hn`, "--pod-cidr-wait", "1s", ...(options.hollowArgs ?? [])], `${name}-hollow`));
    await waitFor(`${nodes} Ready hollow nodes`, async () => {
      const out = (await cluster.kubectl(["get", "nodes", "-l", "type=hollow", "-o", `jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}`])).stdout;
      return out.split("\n").filter((s) => s === "True").length === nodes || undefined;
    }, 60_000, 250);
    return { cluster, controllerManager, components, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
