// The cluster a conformance run is held against: etcd, an apiserver, a scheduler and a controller-manager — kubelab's
// or the real v1.26.1 ones from KUBELAB_PEERS — and kubelab's hollow nodes in both cases, so that the two runs differ
// only in the control plane. Secure as kubeadm sets one up (TLS, client certificates, Node,RBAC, the default
// admission plugins with ServiceAccount); every process logs into `logDir`.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeKubeconfigFile } from "../../client/kubeconfig.js";
import type { Component } from "../../lab/components/component.js";
import { hollowNodesComponent } from "../../lab/components/hollow-nodes.js";
import { controllerManagerComponent } from "../../lab/components/kube-controller-manager.js";
import { schedulerComponent } from "../../lab/components/kube-scheduler.js";
import { realApiserverComponent } from "../../lab/components/real-kube-apiserver.js";
import { launchApiserver, launchEtcd } from "../../lab/process/control-plane.js";
import type { ProcessOwner } from "../../lab/process/owner.js";
import { freePort } from "../../lab/process/ports.js";
import { clientConfigFor, runKubectl } from "../support/apiserver.js";
import { testPki } from "../support/pki.js";
import { waitFor } from "../support/wait.js";

export type ControlPlane = "kubelab" | "real";

export interface ConformanceClusterOptions {
  controlPlane: ControlPlane;
  /** The peers folder (bin/kube-apiserver, kube-scheduler, kube-controller-manager, pki/sa.key); real only. */
  peersDir?: string;
  /** Hollow nodes (the suite wants at least two schedulable ones). */
  nodes: number;
  /** Where the kubeconfig and every process's log go. */
  workDir: string;
}

export interface ConformanceCluster {
  /** The admin's kubeconfig (O=system:masters client certificate). */
  kubeconfig: string;
  url: string;
}

const CLUSTER_CIDR = "10.244.0.0/16";

/** The real binaries a `real` run needs under `peersDir`, or those missing. */
export function missingPeerBinaries(peersDir: string): string[] {
  return ["kube-apiserver", "kube-scheduler", "kube-controller-manager"].map((name) => join(peersDir, "bin", name)).filter((path) => !existsSync(path));
}

function peerComponent(peersDir: string, kind: "kube-scheduler" | "kube-controller-manager", args: readonly string[]): Component {
  return { name: `real-${kind}`, kind, program: { kind: "binary", path: join(peersDir, "bin", kind) }, args, ports: {}, links: ["kube-apiserver"] };
}

/** Starts the cluster under `owner` (whose teardown stops it) and resolves once every hollow node is Ready. */
export async function startConformanceCluster(owner: ProcessOwner, options: ConformanceClusterOptions): Promise<ConformanceCluster> {
  const pki = await testPki();
  const paths = pki.paths;
  const etcd = await launchEtcd(owner);
  let url: string;
  if (options.controlPlane === "kubelab") {
    // The default admission chain (ServiceAccount, LimitRanger, ResourceQuota, ...) plus NodeRestriction, as kubeadm.
    const apiserver = await launchApiserver(owner, etcd.endpoint, {
      secure: { pkiDir: pki.dir, tokenAuthFile: pki.tokenFile, kubeletClient: false },
      timeoutMs: 60_000,
    });
    url = apiserver.url;
  } else {
    const peersDir = options.peersDir ?? "";
    const port = await freePort();
    // The peers' flags, then the run's PKI in place of the peers' own: the same CA, serving pair, admin certificate
    // and service-account keys as kubelab's apiserver gets.
    const component = realApiserverComponent({
      peersDir,
      etcdServers: etcd.endpoint,
      port,
      certDir: join(options.workDir, "real-apiserver-certs"),
      authorizationMode: "Node,RBAC",
      extraArgs: [
        `--client-ca-file=${paths.caCert}`,
        `--tls-cert-file=${paths.apiserverCert}`,
        `--tls-private-key-file=${paths.apiserverKey}`,
        `--service-account-key-file=${paths.saPub}`,
        `--service-account-signing-key-file=${paths.saKey}`,
        "--enable-admission-plugins=NodeRestriction",
      ],
    });
    url = `https://127.0.0.1:${port}`;
    await owner.startReady({ ...component, readiness: { kind: "http", url: `${url}/readyz`, caFile: paths.caCert } }, { timeoutMs: 120_000, intervalMs: 250 });
  }

  const kubeconfig = join(options.workDir, "kubeconfig");
  writeKubeconfigFile(kubeconfig, clientConfigFor({ url, caFile: paths.caCert, certFile: paths.admin.cert, keyFile: paths.admin.key }));

  const common = [`--kubeconfig=${kubeconfig}`, "--leader-elect=false"];
  const controllerFlags = [
    "--allocate-node-cidrs",
    `--cluster-cidr=${CLUSTER_CIDR}`,
    `--root-ca-file=${paths.caCert}`,
    `--cluster-signing-cert-file=${paths.caCert}`,
    `--cluster-signing-key-file=${paths.caKey}`,
  ];
  if (options.controlPlane === "kubelab") {
    owner.start(schedulerComponent({ name: "kube-scheduler", extraArgs: [...common, "--port=0", "--address=127.0.0.1"] }));
    owner.start(controllerManagerComponent({ name: "kube-controller-manager", extraArgs: [...common, "--port=0", "--address=127.0.0.1", ...controllerFlags] }));
  } else {
    const peersDir = options.peersDir ?? "";
    const serving = ["--bind-address=127.0.0.1", "--secure-port=0"];
    owner.start(peerComponent(peersDir, "kube-scheduler", [...common, ...serving]));
    owner.start(peerComponent(peersDir, "kube-controller-manager", [...common, ...serving, ...controllerFlags, `--service-account-private-key-file=${paths.saKey}`]));
  }

  owner.start(hollowNodesComponent({ name: "hollow-nodes", kubeconfig, count: options.nodes, namePrefix: "conformance-node", extraArgs: ["--pod-cidr-wait", "1s"] }));
  const kubectl = (args: string[]) => runKubectl(["--kubeconfig", kubeconfig, ...args], { allowFailure: true });
  await waitFor(
    `${options.nodes} Ready hollow nodes`,
    async () => {
      const out = (await kubectl(["get", "nodes", "-l", "type=hollow", "-o", `jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}`])).stdout;
      return out.split("\n").filter((s) => s === "True").length === options.nodes || undefined;
    },
    120_000,
    500,
  );
  // Every suite's namespace waits for its default ServiceAccount: the controller-manager must be making them.
  await waitFor("the default ServiceAccount", async () => ((await kubectl(["get", "serviceaccount", "default", "-n", "default"])).code === 0 ? true : undefined), 120_000, 500);
  return { kubeconfig, url };
}
