// The lab's PKI, in kubeadm's layout (/etc/kubernetes/pki and its kubeconfigs) under one directory: a cluster CA,
// the apiserver's serving certificate, its client certificate to kubelets, the service-account key pair, the
// front-proxy CA and the aggregator's front-proxy-client certificate (kubeadm's front-proxy-ca.crt and
// front-proxy-client.crt: APIService backends trust the aggregator through that CA), each
// node's kubelet client and serving certificates, and a kubeconfig per client identity (SECURITY.md's identities).
//
// Made idempotently: what exists and is still right is kept (a certificate is right when the current CA issued it
// and, for a serving certificate, it names every address asked for); what is missing or wrong is made, so a new
// node or a new apiserver address costs one or two certificates, not a new CA. A CA that is replaced takes every
// certificate with it (they no longer verify). Private keys and kubeconfigs are 0600, certificates 0644.
import { X509Certificate, createPrivateKey, generateKeyPair, type KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { kubeconfigYaml, type KubeconfigNames } from "../../client/kubeconfig.js";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey, type CertificateRequest } from "../../component-base/pki/certificates.js";
import { readCertificateAuthority, writeCertificateAndKey, writeKeyFile, writePemFile, PRIVATE_FILE_MODE } from "../../component-base/pki/files.js";
import { ensureEtcdPki, etcdPkiPaths, type EtcdPkiPaths } from "./etcd.js";

/** The lab's tools that read the API, each with its own identity system:kubelab:<tool>. */
export const LAB_TOOLS = ["metrics-server", "kube-state-metrics", "kubelab-ui", "prometheus"] as const;
export type LabTool = (typeof LAB_TOOLS)[number];

export interface LabPkiNode {
  name: string;
  /** The node's IPs and DNS names, for its kubelet's serving certificate (the name is always included). */
  addresses?: readonly string[];
}

export interface LabPkiOptions {
  /** Where the files go (kubeadm's /etc/kubernetes/pki, plus the kubeconfigs). */
  dir: string;
  /** The service CIDR's first IP: the kubernetes Service's ClusterIP (10.96.0.1). */
  serviceIp: string;
  /** The apiserver's advertise/node addresses (IPs or DNS names), besides 127.0.0.1 and localhost. */
  apiserverAddresses: readonly string[];
  /** The URL the kubeconfigs point at (https://<address>:<secure port>). */
  server: string;
  nodes: readonly LabPkiNode[];
}

/** One client identity's files: certificate, key, kubeconfig. */
export interface ClientFiles {
  cert: string;
  key: string;
  kubeconfig: string;
}

export interface NodeFiles {
  /** The kubelet's client identity (system:node:<name>, O=system:nodes) and its kubeconfig. */
  client: ClientFiles;
  /** The kubelet's serving certificate (--tls-cert-file/--tls-private-key-file). */
  servingCert: string;
  servingKey: string;
}

/** Every path of the lab's PKI, computed from the directory alone. */
export interface LabPkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  apiserverKubeletClientCert: string;
  apiserverKubeletClientKey: string;
  /** The service-account signing key (the apiserver's --service-account-signing-key-file). */
  saKey: string;
  /** Its public half (--service-account-key-file). */
  saPub: string;
  /** kubeadm's front-proxy CA (the apiserver's --requestheader-client-ca-file) and its one client, the aggregator. */
  frontProxyCaCert: string;
  frontProxyCaKey: string;
  frontProxyClientCert: string;
  frontProxyClientKey: string;
  admin: ClientFiles;
  scheduler: ClientFiles;
  controllerManager: ClientFiles;
  kubeProxy: ClientFiles;
  tools: Record<LabTool, ClientFiles>;
  /** The apiserver's --authentication-config: anonymous requests only on the public health endpoints. */
  authenticationConfig: string;
  /** etcd's CA and certificates, and the apiserver's client certificate to etcd (lab/pki/etcd.ts). */
  etcd: EtcdPkiPaths;
  node(name: string): NodeFiles;
}

export function labPkiPaths(dir: string): LabPkiPaths {
  const client = (base: string, kubeconfig: string): ClientFiles => ({ cert: join(dir, `${base}.crt`), key: join(dir, `${base}.key`), kubeconfig: join(dir, kubeconfig) });
  const tools = Object.fromEntries(LAB_TOOLS.map((tool) => [tool, client(tool, `${tool}.conf`)])) as Record<LabTool, ClientFiles>;
  return {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    apiserverCert: join(dir, "apiserver.crt"),
    apiserverKey: join(dir, "apiserver.key"),
    apiserverKubeletClientCert: join(dir, "apiserver-kubelet-client.crt"),
    apiserverKubeletClientKey: join(dir, "apiserver-kubelet-client.key"),
    saKey: join(dir, "sa.key"),
    saPub: join(dir, "sa.pub"),
    frontProxyCaCert: join(dir, "front-proxy-ca.crt"),
    frontProxyCaKey: join(dir, "front-proxy-ca.key"),
    frontProxyClientCert: join(dir, "front-proxy-client.crt"),
    frontProxyClientKey: join(dir, "front-proxy-client.key"),
    admin: client("admin", "admin.conf"),
    scheduler: client("scheduler", "scheduler.conf"),
    controllerManager: client("controller-manager", "controller-manager.conf"),
    kubeProxy: client("kube-proxy", "kube-proxy.conf"),
    tools,
    authenticationConfig: join(dir, "authentication-config.yaml"),
    etcd: etcdPkiPaths(dir),
    node(name: string): NodeFiles {
      const nodeDir = join(dir, "nodes", name);
      return {
        client: { cert: join(nodeDir, "kubelet-client.crt"), key: join(nodeDir, "kubelet-client.key"), kubeconfig: join(nodeDir, "kubelet.conf") },
        servingCert: join(nodeDir, "kubelet.crt"),
        servingKey: join(nodeDir, "kubelet.key"),
      };
    },
  };
}

/**
 * Kubernetes 1.32's structured authentication configuration with anonymous requests allowed only where a client must
 * reach the apiserver before it has a credential (health checks, /version): everywhere else a request without one is
 * 401 Unauthorized instead of RBAC's 403 for system:anonymous.
 */
export const AUTHENTICATION_CONFIG_YAML = `apiVersion: apiserver.config.k8s.io/v1beta1
kind: AuthenticationConfiguration
jwt: []
anonymous:
  enabled: true
  conditions:
  - path: /healthz
  - path: /livez
  - path: /readyz
  - path: /version
`;

/** The apiserver serving certificate's DNS names (kubeadm's). */
export const APISERVER_DNS_NAMES = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"] as const;

export interface LabPkiResult {
  paths: LabPkiPaths;
  /** The files made or replaced this time (relative to dir). */
  written: string[];
  /** How long it took. */
  elapsedMs: number;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const isIp = (address: string): boolean => IPV4.test(address) || address.includes(":");

/** Makes what is missing or wrong of the lab's PKI under options.dir. */
export async function ensureLabPki(options: LabPkiOptions): Promise<LabPkiResult> {
  const started = performance.now();
  const paths = labPkiPaths(options.dir);
  const written: string[] = [];
  const note = (path: string): void => {
    written.push(path.slice(options.dir.length + 1));
  };

  /** The CA at <base>.crt/.key, made when missing (`made`: every certificate it issued must be made again). */
  const ensureCa = async (base: string, commonName: string, certPath: string, keyPath: string): Promise<{ pair: CertificateAndKey; cert: X509Certificate; made: boolean }> => {
    if (existsSync(certPath) && existsSync(keyPath)) {
      const pair = readCertificateAuthority(certPath, keyPath);
      return { pair, cert: new X509Certificate(pair.certPem), made: false };
    }
    const pair = await createCertificateAuthority(commonName);
    writeCertificateAndKey(join(options.dir, base), pair);
    note(certPath);
    note(keyPath);
    return { pair, cert: new X509Certificate(pair.certPem), made: true };
  };
  const [clusterCa, frontProxyCa] = await Promise.all([
    ensureCa("ca", "kubernetes", paths.caCert, paths.caKey),
    ensureCa("front-proxy-ca", "front-proxy-ca", paths.frontProxyCaCert, paths.frontProxyCaKey),
  ]);
  const ca = clusterCa.pair;

  /** Keeps the pair at certPath/keyPath when `issuer` issued it and it carries `sans`; otherwise issues it anew. */
  const ensurePair = async (certPath: string, keyPath: string, request: CertificateRequest, issuer = clusterCa): Promise<CertificateAndKey> => {
    const sans = [...(request.dnsNames ?? []).map((d) => `DNS:${d}`), ...(request.ipAddresses ?? []).map((ip) => `IP Address:${ip}`)];
    if (!issuer.made && existsSync(certPath) && existsSync(keyPath)) {
      const pair = { certPem: readFileSync(certPath, "utf8"), keyPem: readFileSync(keyPath, "utf8") };
      if (stillGood(pair, issuer.cert, sans)) return pair;
    }
    const pair = await issueCertificate(issuer.pair, request);
    writePemFile(certPath, pair.certPem);
    writeKeyFile(keyPath, pair.keyPem);
    note(certPath);
    note(keyPath);
    return pair;
  };

  const kubeconfig = (files: ClientFiles, pair: CertificateAndKey, user: string): void => {
    const names: KubeconfigNames = { cluster: "kubernetes", user, context: `${user}@kubernetes` };
    const text = kubeconfigYaml({ server: options.server, namespace: "default", caData: ca.certPem, clientCertData: pair.certPem, clientKeyData: pair.keyPem }, names);
    if (existsSync(files.kubeconfig) && readFileSync(files.kubeconfig, "utf8") === text) return;
    writePemFile(files.kubeconfig, text, PRIVATE_FILE_MODE);
    note(files.kubeconfig);
  };
  const client = async (files: ClientFiles, commonName: string, organizations: readonly string[] = []): Promise<void> => {
    const pair = await ensurePair(files.cert, files.key, { commonName, organizations, usage: "client" });
    kubeconfig(files, pair, commonName);
  };

  const addresses = [...new Set([options.serviceIp, "127.0.0.1", ...options.apiserverAddresses])];
  // Independent of each other once the CA exists: made concurrently (openssl runs as child processes).
  const work: Promise<unknown>[] = [
    ensurePair(paths.apiserverCert, paths.apiserverKey, {
      commonName: "kube-apiserver",
      usage: "server",
      ipAddresses: addresses.filter(isIp),
      dnsNames: [...new Set([...APISERVER_DNS_NAMES, ...addresses.filter((a) => !isIp(a))])],
    }),
    ensurePair(paths.apiserverKubeletClientCert, paths.apiserverKubeletClientKey, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], usage: "client" }),
    ensureServiceAccountKeys(paths, note),
    ensurePair(paths.frontProxyClientCert, paths.frontProxyClientKey, { commonName: FRONT_PROXY_CLIENT, usage: "client" }, frontProxyCa),
    client(paths.admin, "kubernetes-admin", ["system:masters"]),
    client(paths.scheduler, "system:kube-scheduler"),
    client(paths.controllerManager, "system:kube-controller-manager"),
    client(paths.kubeProxy, "system:kube-proxy"),
    ...LAB_TOOLS.map((tool) => client(paths.tools[tool], toolUser(tool))),
    ensureEtcdPki(paths.etcd, stillGood, note),
  ];
  for (const node of options.nodes) {
    const files = paths.node(node.name);
    const nodeAddresses = [...new Set([node.name, ...(node.addresses ?? [])])];
    work.push(
      client(files.client, `system:node:${node.name}`, ["system:nodes"]),
      ensurePair(files.servingCert, files.servingKey, {
        commonName: `system:node:${node.name}`,
        organizations: ["system:nodes"],
        usage: "server",
        ipAddresses: nodeAddresses.filter(isIp),
        dnsNames: nodeAddresses.filter((a) => !isIp(a)),
      }),
    );
  }
  if (!existsSync(paths.authenticationConfig) || readFileSync(paths.authenticationConfig, "utf8") !== AUTHENTICATION_CONFIG_YAML) {
    writePemFile(paths.authenticationConfig, AUTHENTICATION_CONFIG_YAML);
    note(paths.authenticationConfig);
  }
  await Promise.all(work);
  return { paths, written, elapsedMs: performance.now() - started };
}

/** kubeadm's front-proxy client certificate CN, the apiserver's --requestheader-allowed-names. */
export const FRONT_PROXY_CLIENT = "front-proxy-client";

/** A lab tool's user name in its client certificate (bound by the lab's ClusterRoleBindings). */
export function toolUser(tool: LabTool): string {
  return `system:kubelab:${tool}`;
}

/** Issued by `ca`, its key matching, valid for at least a day more, and naming every SAN in `sans`. */
function stillGood(pair: CertificateAndKey, ca: X509Certificate, sans: readonly string[]): boolean {
  try {
    const cert = new X509Certificate(pair.certPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return false;
    if (new Date(cert.validTo).getTime() < Date.now() + 86_400_000) return false;
    const has = new Set((cert.subjectAltName ?? "").split(", ").filter((s) => s !== "").map(canonicalSan));
    return sans.every((san) => has.has(canonicalSan(san)));
  } catch {
    return false;
  }
}

/** "IP Address:::1" as Node prints it ("IP Address:0:0:0:0:0:0:0:1"): IPv6 in eight groups without leading zeros. */
function canonicalSan(san: string): string {
  const ip = /^IP Address:(.*:.*)$/.exec(san)?.[1];
  if (ip === undefined) return san;
  const [head = "", tail] = ip.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `IP Address:${groups.map((g) => parseInt(g, 16).toString(16)).join(":").toUpperCase()}`;
}

/** sa.key/sa.pub: kubeadm's service-account key pair, RSA 2048 (the apiserver signs tokens RS256). */
async function ensureServiceAccountKeys(paths: LabPkiPaths, note: (path: string) => void): Promise<void> {
  if (existsSync(paths.saKey) && existsSync(paths.saPub)) return;
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((resolve, reject) => {
    generateKeyPair("rsa", { modulusLength: 2048 }, (err, pub, priv) => {
      if (err) reject(err);
      else resolve({ privateKey: priv, publicKey: pub });
    });
  });
  writeKeyFile(paths.saKey, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  writePemFile(paths.saPub, publicKey.export({ type: "spki", format: "pem" }).toString());
  note(paths.saKey);
  note(paths.saPub);
}
