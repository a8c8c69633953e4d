// The secure compose cluster, set up as kubeadm sets one up: `kubelab pki` (the one-shot `pki` service, kubeadm's
// certs and kubeconfig phases) writes the lab's PKI into the `pki` volume before anything else starts; `kubelab
// addons` (the one-shot `addons` service, kubeadm's addon phase) creates what the cluster's own tools need once the
// apiserver is up, as the admin.
//
// The PKI is lab/pki's, for the compose file's addresses: every kubeconfig points at the one URL the nodes use
// (KUBELAB_APISERVER), so a node container's supervisor, which keeps its node's part of the same PKI up to date
// (lab/up/supervisor.ts ensurePki), finds everything already right and writes nothing but what a node not in the
// list (`--scale node=K`) needs: that node makes its own certificates from the CA in the volume.
import { X509Certificate } from "node:crypto";
import { chownSync, existsSync, readFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { errorMessage } from "../../api/errors.js";
import { loadKubeconfig, type ClientConfig } from "../../client/kubeconfig.js";
import { issueCertificate } from "../../component-base/pki/certificates.js";
import { readCertificateAuthority, writeKeyFile, writePemFile } from "../../component-base/pki/files.js";
import { ipString, nodeIndex, nodePlan, parseCidr } from "../up/config.js";
import { COMPOSE_DEFAULTS, composeLabConfig } from "./config.js";
import type { LabPkiOptions } from "../pki/pki.js";

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

/** Prometheus' identity (dashboards/prometheus/prometheus.yml's tls_config), bound by prometheusRbac. */
export const PROMETHEUS_USER = "system:kubelab:prometheus";
/** prom/prometheus runs as nobody: its key is that user's (the rest of the PKI stays root's, 0600). */
const PROMETHEUS_UID = 65_534;

export function prometheusFiles(dir: string): { cert: string; key: string } {
  return { cert: join(dir, "prometheus.crt"), key: join(dir, "prometheus.key") };
}

/** Prometheus' client certificate, made when missing or not issued by the current CA; owned by nobody. */
export async function ensurePrometheusCertificate(dir: string): Promise<boolean> {
  const ca = readCertificateAuthority(join(dir, "ca.crt"), join(dir, "ca.key"));
  const files = prometheusFiles(dir);
  if (existsSync(files.cert) && existsSync(files.key)) {
    const cert = new X509Certificate(readFileSync(files.cert));
    if (cert.checkIssued(new X509Certificate(ca.certPem)) && new Date(cert.validTo).getTime() > Date.now() + 86_400_000) return false;
  }
  const pair = await issueCertificate(ca, { commonName: PROMETHEUS_USER, usage: "client" });
  writePemFile(files.cert, pair.certPem);
  writeKeyFile(files.key, pair.keyPem);
  if (process.getuid?.() === 0) chownSync(files.key, PROMETHEUS_UID, PROMETHEUS_UID);
  return true;
}

type Manifest = Record<string, unknown>;
const RBAC = "rbac.authorization.k8s.io";

/** What Prometheus may read: the apiserver's /metrics and the kubelets' (nodes/metrics: /metrics/cadvisor). */
export function prometheusRbac(): Manifest[] {
  const labels = { "app.kubernetes.io/managed-by": "kubelab" };
  return [
    {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRole",
      metadata: { name: "kubelab:prometheus", labels },
      rules: [
        { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
        { nonResourceURLs: ["/metrics"], verbs: ["get"] },
      ],
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: "kubelab:prometheus", labels },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "kubelab:prometheus" },
      subjects: [{ apiGroup: RBAC, kind: "User", name: PROMETHEUS_USER }],
    },
  ];
}

/** Creates the objects through `apiserver`; ones that exist are left as they are. */
export async function createAll(apiserver: string, objects: readonly Manifest[]): Promise<string[]> {
  const done: string[] = [];
  for (const object of objects) {
    const kind = String(object.kind);
    const path = `/apis/${RBAC}/v1/${kind.toLowerCase()}s`;
    const response = await fetch(`${apiserver}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(object) });
    if (!response.ok && response.status !== 409) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    done.push(`${kind.toLowerCase()}/${String((object.metadata as { name?: string }).name)}`);
  }
  return done;
}

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
