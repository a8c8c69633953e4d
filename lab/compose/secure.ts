// The secure compose cluster, set up as kubeadm sets one up: `kubelab pki` (the one-shot `pki` service, kubeadm's
// certs and kubeconfig phases) writes the lab's PKI into the `pki` volume before anything else starts; `kubelab
// addons` (the one-shot `addons` service, kubeadm's addon phase) creates what the cluster's own tools need once the
// apiserver is up, as the admin.
//
// The PKI is lab/pki's, for the compose file's addresses: every kubeconfig points at the one URL the nodes use
// (KUBELAB_APISERVER), so a node container's supervisor, which keeps its node's part of the same PKI up to date
// (lab/up/supervisor.ts ensurePki), finds everything already right and writes nothing but what a node not in the
// list (`--scale node=K`) needs: that node makes its own certificates from the CA in the volume.
import { chownSync, statSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { errorMessage } from "../../api/errors.js";
import { loadKubeconfig, type ClientConfig } from "../../client/kubeconfig.js";
import { ipString, nodeIndex, nodePlan, parseCidr } from "../up/config.js";
import { COMPOSE_DEFAULTS, composeLabConfig } from "./config.js";
import { labPkiPaths, type LabPkiOptions } from "../pki/pki.js";

/** The apiserver's names on the compose networks: its service, the HA file's second apiserver and load balancer. */
export const COMPOSE_APISERVER_NAMES = ["apiserver", "apiserver-2", "apiserver-lb"] as const;

/** The control plane's fixed addresses in the node network (docker-compose.yml): the apiserver, the HA load balancer. */
const APISERVER_OFFSETS = [3, 10] as const;

export interface ComposePkiInput {
  dir: string;
  /** The URL every kubeconfig points at: the apiserver's (or the HA load balancer's) on the node network. */
  server: string;
  nodeNetwork: string;
  serviceCidr: string;
  /** The nodes whose certificates are made now (node-N: its address follows from N). */
  nodes: readonly string[];
  /** More names or addresses for the apiserver's serving certificate. */
  extraAddresses?: readonly string[];
}

/**
 * lab/pki's options for a compose cluster. The serving certificate names the apiserver's service names and fixed
 * addresses, the server URL's host, 127.0.0.1/localhost (the host's published port) and the node network's first
 * address (the one a node container's supervisor asks for, lab/up/config.ts bridgeIp).
 */
export function composePkiOptions(input: ComposePkiInput): LabPkiOptions {
  const network = parseCidr(input.nodeNetwork);
  const config = composeLabConfig({ ...COMPOSE_DEFAULTS, home: "/var/lib/kubelab", apiserver: input.server, nodeNetwork: input.nodeNetwork, serviceCidr: input.serviceCidr });
  const nodes = input.nodes.map((name) => {
    const index = nodeIndex(name);
    if (index === undefined) throw new Error(`a compose node is named node-<number>, not ${name}`);
    return { name, addresses: [nodePlan(config, index).ip] };
  });
  return {
    dir: input.dir,
    serviceIp: ipString(parseCidr(input.serviceCidr).base + 1),
    apiserverAddresses: [
      ipString(network.base + 1),
      ...APISERVER_OFFSETS.map((offset) => ipString(network.base + offset)),
      new URL(input.server).hostname,
      ...COMPOSE_APISERVER_NAMES,
      ...(input.extraAddresses ?? []),
    ],
    server: input.server,
    nodes,
  };
}

/**
 * Prometheus' client key (lab/pki's `prometheus` tool: system:kubelab:prometheus, bound by the lab tools' RBAC; what
 * dashboards/prometheus/prometheus.yml's tls_config names) made readable by prom/prometheus, which runs as nobody;
 * the rest of the PKI stays root's, 0600. True when its owner changed.
 */
export function givePrometheusItsKey(dir: string): boolean {
  const key = labPkiPaths(dir).tools.prometheus.key;
  if (process.getuid?.() !== 0 || statSync(key).uid === PROMETHEUS_UID) return false;
  chownSync(key, PROMETHEUS_UID, PROMETHEUS_UID);
  return true;
}

/** prom/prometheus' user, nobody. */
const PROMETHEUS_UID = 65_534;

export interface Relay {
  url: string;
  close(): Promise<void>;
}

/**
 * A plain-HTTP endpoint on 127.0.0.1 that sends every request on to the kubeconfig's apiserver with its
 * credentials (what `kubectl proxy` does), so the lab's add-on code, which speaks to a URL, runs as that identity.
 * Lives only as long as the one-shot that opens it.
 */
export async function credentialRelay(kubeconfig: string): Promise<Relay> {
  const client: ClientConfig = loadKubeconfig(kubeconfig);
  const upstream = new URL(client.server);
  const forward = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const headers = { ...incoming.headers, host: upstream.host };
    if (client.token !== undefined) headers.authorization = `Bearer ${client.token}`;
    const options = { hostname: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers };
    const onResponse = (response: IncomingMessage): void => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(outgoing);
    };
    const sent =
      upstream.protocol === "https:"
        ? httpsRequest({ ...options, ca: client.caData, cert: client.clientCertData, key: client.clientKeyData }, onResponse)
        : httpRequest(options, onResponse);
    sent.on("error", (err) => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { "content-type": "text/plain" });
      outgoing.end(`relay to ${client.server}: ${errorMessage(err)}\n`);
    });
    incoming.pipe(sent);
  };
  const server = createServer(forward);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => { resolve(); })),
  };
}
