// The lab's cluster DNS (addons/dns): the kubelab/dns image, built once per build of dist/ and cached next to it,
// loaded into every node's image store (nodes have no registry to pull it from), and the kube-dns Service and
// Deployment rendered from addons/dns/kube-dns.yaml.base and created through the apiserver.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { distEntry, REPO_ROOT } from "../components/entries.js";
import { labCreate, labGet } from "./api.js";
import { apiserverUrl, type LabConfig, type NodePlan } from "./config.js";
import { run } from "./host.js";

/** The dist/ folders the image holds (container-runtime/images/program-image.ts's dnsImageDefinition). */
const IMAGE_DIST_FOLDERS = ["api", "client", "component-base", "proto", "cluster-dns"];

export function dnsImageReference(): string {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version?: string };
  return `kubelab/dns:${manifest.version ?? "latest"}`;
}

/** The values of addons/dns/README.md's placeholders for a lab. */
export function dnsAddonValues(config: LabConfig): Record<string, string> {
  return {
    __DNS__SERVER__: config.clusterDns,
    __DNS__DOMAIN__: "cluster.local",
    __DNS__IMAGE__: dnsImageReference(),
    __DNS__REPLICAS__: String(config.container?.dnsReplicas ?? Math.min(2, config.nodes)),
    __DNS__MEMORY__LIMIT__: "170Mi",
    // The apiserver listens on the host's bridge address; pods reach it through their node (masqueraded there).
    __KUBE_MASTER__: apiserverUrl(config),
  };
}

/** The manifest with every placeholder replaced; throws if one is left (a template newer than this code). */
export function renderDnsAddon(template: string, values: Readonly<Record<string, string>>): string {
  let text = template;
  for (const [key, value] of Object.entries(values)) text = text.split(key).join(value);
  const left = /__[A-Z_]+__/.exec(text.replace(/^#.*$/gm, ""));
  if (left) throw new Error(`addons/dns/kube-dns.yaml.base: no value for ${left[0]}`);
  return text;
}

export function dnsAddonTemplate(): string {
  return readFileSync(join(REPO_ROOT, "addons", "dns", "kube-dns.yaml.base"), "utf8");
}

/** A key that changes whenever what goes into the image may have (the dist folders, Node, the dependencies). */
export function dnsImageKey(distDir: string): string {
  const hash = createHash("sha256");
  hash.update(`${process.execPath} ${process.version}\n`);
  for (const file of [join(REPO_ROOT, "package.json"), join(REPO_ROOT, "package-lock.json")]) {
    if (existsSync(file)) hash.update(`${file} ${statSync(file).mtimeMs}\n`);
  }
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const info = statSync(path);
        hash.update(`${path} ${info.size} ${info.mtimeMs}\n`);
      }
    }
  };
  for (const folder of IMAGE_DIST_FOLDERS) walk(join(distDir, folder));
  return hash.digest("hex").slice(0, 16);
}

/**
 * The image as an OCI archive under <dist>/.kubelab-images, built with `kubelab-runtime image build dns` unless
 * the archive for this build is there already (older ones are removed). Resolves with its path and whether it was
 * built now.
 */
export async function dnsImageArchive(): Promise<{ path: string; built: boolean }> {
  const distDir = dirname(dirname(distEntry("cluster-dns")));
  const cacheDir = join(distDir, ".kubelab-images");
  const path = join(cacheDir, `kubelab-dns-${dnsImageKey(distDir)}.tar`);
  if (existsSync(path)) return { path, built: false };
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  try {
    await run([process.execPath, distEntry("container-runtime"), "image", "build", "dns", "--output", partial], 300_000);
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
  // Archives of earlier builds go; another lab's build in progress (a .partial) stays.
  for (const name of readdirSync(cacheDir)) if (/^kubelab-dns-[0-9a-f]+\.tar$/.test(name) && join(cacheDir, name) !== path) rmSync(join(cacheDir, name), { force: true });
  return { path, built: true };
}

/** Loads the archive into a node's image store (the running runtime sees it at once). */
export async function loadImage(archive: string, node: NodePlan): Promise<void> {
  await run([process.execPath, distEntry("container-runtime"), "image", "load", archive, "--root", node.runtimeRoot], 300_000);
}

interface ApiObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

function collectionPath(object: ApiObject): string {
  const namespace = object.metadata?.namespace ?? "default";
  const plural = `${(object.kind ?? "").toLowerCase()}s`;
  const group = object.apiVersion === "v1" ? "/api/v1" : `/apis/${object.apiVersion ?? ""}`;
  return `${group}/namespaces/${namespace}/${plural}`;
}

const KUBE_DNS_SERVICE_ACCOUNT = "kube-dns";
const DNS_ROLE = "system:kubelab-dns";

/**
 * The DNS pods' service account and what it may read, as kubeadm gives CoreDNS (its system:coredns role): the
 * bootstrap system:kube-dns role lacks EndpointSlices, which kubelab's DNS server watches.
 */
function kubeDnsIdentity(): [string, ApiObject & Record<string, unknown>][] {
  const rbac = "rbac.authorization.k8s.io";
  return [
    ["/api/v1/namespaces/kube-system/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: KUBE_DNS_SERVICE_ACCOUNT, namespace: "kube-system" } }],
    [`/apis/${rbac}/v1/clusterroles`, {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRole",
      metadata: { name: DNS_ROLE },
      rules: [
        { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    }],
    [`/apis/${rbac}/v1/clusterrolebindings`, {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: DNS_ROLE },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: DNS_ROLE },
      subjects: [{ kind: "ServiceAccount", name: KUBE_DNS_SERVICE_ACCOUNT, namespace: "kube-system" }],
    }],
  ];
}

/**
 * In a secure lab the DNS pods authenticate as Kubernetes' do: as the kube-dns service account, whose token and the
 * cluster CA the kubelet mounts, reaching the apiserver through the `kubernetes` Service (in-cluster config), not
 * with --master and no credentials.
 */
function inClusterCredentials(object: ApiObject): void {
  if (object.kind !== "Deployment") return;
  const podSpec = (object as { spec?: { template?: { spec?: { serviceAccountName?: string; containers?: { args?: string[] }[] } } } }).spec?.template?.spec;
  if (!podSpec) return;
  podSpec.serviceAccountName = KUBE_DNS_SERVICE_ACCOUNT;
  for (const container of podSpec.containers ?? []) container.args = (container.args ?? []).filter((a) => !a.startsWith("--master="));
}

/** Creates kube-system (when missing) and the add-on's objects; objects already there are left as they are. */
export async function applyDnsAddon(config: LabConfig): Promise<string[]> {
  const create = (path: string, object: unknown): Promise<"created" | "exists"> => labCreate(config, path, object);
  const manifest = renderDnsAddon(dnsAddonTemplate(), dnsAddonValues(config));
  await create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system" } });
  const done: string[] = [];
  if (config.secure) {
    for (const [path, object] of kubeDnsIdentity()) {
      const outcome = await create(path, object);
      done.push(`${(object.kind ?? "").toLowerCase()}/${object.metadata?.name ?? ""} ${outcome}`);
    }
  }
  for (const document of parseAllDocuments(manifest)) {
    const object = document.toJS() as ApiObject | null;
    if (object === null) continue;
    if (config.secure) inClusterCredentials(object);
    const outcome = await create(collectionPath(object), object);
    done.push(`${(object.kind ?? "").toLowerCase()}/${object.metadata?.name ?? ""} ${outcome}`);
  }
  return done;
}

export interface DeploymentAvailability {
  available: number;
  desired: number;
}

export async function kubeDnsAvailability(config: LabConfig): Promise<DeploymentAvailability | undefined> {
  const deployment = (await labGet(config, "/apis/apps/v1/namespaces/kube-system/deployments/kube-dns")) as { spec?: { replicas?: number }; status?: { availableReplicas?: number } } | undefined;
  if (deployment === undefined) return undefined;
  return { available: deployment.status?.availableReplicas ?? 0, desired: deployment.spec?.replicas ?? 1 };
}

