// Client configuration: where the apiserver is and how to authenticate, from --master, a kubeconfig file
// (client-go clientcmd's subset: clusters/users/contexts/current-context), or the in-cluster service account.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { errorMessage } from "../api/errors.js";
import { isRecord } from "../api/meta.js";

export interface ClientConfig {
  /** Base URL, e.g. http://127.0.0.1:6443 or https://10.96.0.1 (no trailing slash). */
  server: string;
  /** The context's namespace, or "default". */
  namespace: string;
  /** Sent as "Authorization: Bearer <token>". */
  token?: string;
  insecureSkipTLSVerify?: boolean;
  /** PEM CA bundle to trust instead of the system roots. */
  caData?: string;
  /** PEM client certificate and key for mTLS. */
  clientCertData?: string;
  clientKeyData?: string;
}

/** A kubeconfig that cannot be used; the message names the file and field. */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeconfigError";
  }
}

export interface LoadOptions {
  /** Use this context instead of current-context (kubectl's --context). */
  context?: string;
}

interface NamedEntries {
  clusters: Map<string, Record<string, unknown>>;
  users: Map<string, Record<string, unknown>>;
  contexts: Map<string, Record<string, unknown>>;
  currentContext: string | undefined;
  /** The file each entry came from, for resolving relative paths and for messages. */
  origin: Map<Record<string, unknown>, string>;
}

/** Reads one kubeconfig file. */
export function loadKubeconfig(path: string, opts: LoadOptions = {}): ClientConfig {
  return loadKubeconfigs([path], opts);
}

/**
 * Reads and merges several kubeconfig files ($KUBECONFIG's list): the first file to define a name or the
 * current-context wins, as in clientcmd.
 */
export function loadKubeconfigs(paths: readonly string[], opts: LoadOptions = {}): ClientConfig {
  const merged: NamedEntries = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: undefined, origin: new Map() };
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new KubeconfigError(`cannot read kubeconfig ${path}: ${errorMessage(err)}`);
    }
    mergeInto(merged, text, path);
  }
  return resolveConfig(merged, opts, paths.join(delimiter));
}

/** Parses kubeconfig text; `path` resolves relative file references and appears in error messages. */
export function parseKubeconfig(text: string, opts: LoadOptions & { path?: string } = {}): ClientConfig {
  const merged: NamedEntries = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: undefined, origin: new Map() };
  const path = opts.path ?? "<kubeconfig>";
  mergeInto(merged, text, path);
  return resolveConfig(merged, opts, path);
}

function mergeInto(into: NamedEntries, text: string, path: string): void {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeconfigError(`${path}: not valid YAML: ${errorMessage(err)}`);
  }
  if (doc === null || doc === undefined) return;
  if (!isRecord(doc)) throw new KubeconfigError(`${path}: not a kubeconfig (expected a mapping)`);
  const sections = [
    ["clusters", "cluster", into.clusters],
    ["users", "user", into.users],
    ["contexts", "context", into.contexts],
  ] as const;
  for (const [list, field, target] of sections) {
    const entries = doc[list];
    if (entries === undefined || entries === null) continue;
    if (!Array.isArray(entries)) throw new KubeconfigError(`${path}: ${list}: expected a list`);
    entries.forEach((entry: unknown, i) => {
      if (!isRecord(entry) || typeof entry.name !== "string") throw new KubeconfigError(`${path}: ${list}[${i}].name: required`);
      const body = entry[field] ?? {};
      if (!isRecord(body)) throw new KubeconfigError(`${path}: ${list}[${i}].${field}: expected a mapping`);
      if (!target.has(entry.name)) {
        target.set(entry.name, body);
        into.origin.set(body, path);
      }
    });
  }
  const current = doc["current-context"];
  if (into.currentContext === undefined && typeof current === "string" && current !== "") into.currentContext = current;
}

function str(entry: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = entry[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new KubeconfigError(`${where}.${key}: expected a string`);
  return v;
}

function readRelative(file: string, origin: string, where: string): string {
  const full = isAbsolute(file) ? file : resolve(dirname(origin), file);
  try {
    return readFileSync(full, "utf8");
  } catch (err) {
    throw new KubeconfigError(`${where}: cannot read ${full}: ${errorMessage(err)}`);
  }
}

/** Inline base64 data wins over a file reference, as in clientcmd. */
function dataOrFile(entry: Record<string, unknown>, dataKey: string, fileKey: string, origin: string, where: string): string | undefined {
  const data = str(entry, dataKey, where);
  if (data !== undefined) return Buffer.from(data, "base64").toString("utf8");
  const file = str(entry, fileKey, where);
  return file === undefined ? undefined : readRelative(file, origin, `${where}.${fileKey}`);
}

function resolveConfig(entries: NamedEntries, opts: LoadOptions, source: string): ClientConfig {
  const contextName = opts.context ?? entries.currentContext;
  if (contextName === undefined) throw new KubeconfigError(`${source}: no current-context is set`);
  const context = entries.contexts.get(contextName);
  if (!context) throw new KubeconfigError(`${source}: context "${contextName}" does not exist`);
  const where = `contexts[${contextName}].context`;
  const clusterName = str(context, "cluster", where);
  if (clusterName === undefined) throw new KubeconfigError(`${source}: ${where}.cluster: required`);
  const cluster = entries.clusters.get(clusterName);
  if (!cluster) throw new KubeconfigError(`${source}: cluster "${clusterName}" (from context "${contextName}") does not exist`);
  const clusterWhere = `clusters[${clusterName}].cluster`;
  const clusterOrigin = entries.origin.get(cluster) ?? source;
  const server = str(cluster, "server", clusterWhere);
  if (!server) throw new KubeconfigError(`${clusterOrigin}: ${clusterWhere}.server: required`);
  const namespace = str(context, "namespace", where);
  const config: ClientConfig = { server: normalizeServer(server, `${clusterOrigin}: ${clusterWhere}.server`), namespace: namespace === undefined || namespace === "" ? "default" : namespace };
  const insecure = cluster["insecure-skip-tls-verify"];
  if (insecure !== undefined && typeof insecure !== "boolean") throw new KubeconfigError(`${clusterOrigin}: ${clusterWhere}.insecure-skip-tls-verify: expected a boolean`);
  if (insecure === true) config.insecureSkipTLSVerify = true;
  const ca = dataOrFile(cluster, "certificate-authority-data", "certificate-authority", clusterOrigin, clusterWhere);
  if (ca !== undefined) config.caData = ca;

  const userName = str(context, "user", where);
  const user = userName === undefined ? undefined : entries.users.get(userName);
  if (userName !== undefined && userName !== "" && !user) throw new KubeconfigError(`${source}: user "${userName}" (from context "${contextName}") does not exist`);
  if (user) {
    const userWhere = `users[${userName ?? ""}].user`;
    const userOrigin = entries.origin.get(user) ?? source;
    const token = str(user, "token", userWhere);
    const tokenFile = str(user, "tokenFile", userWhere);
    if (token) config.token = token;
    else if (tokenFile) config.token = readRelative(tokenFile, userOrigin, `${userWhere}.tokenFile`).trim();
    const cert = dataOrFile(user, "client-certificate-data", "client-certificate", userOrigin, userWhere);
    const key = dataOrFile(user, "client-key-data", "client-key", userOrigin, userWhere);
    if (cert !== undefined) config.clientCertData = cert;
    if (key !== undefined) config.clientKeyData = key;
  }
  return config;
}

function normalizeServer(server: string, where: string): string {
  // client-go accepts a bare host:port (defaulting to https); so do we.
  const withScheme = /^[a-z]+:\/\//i.test(server) ? server : `https://${server}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new KubeconfigError(`${where}: not a URL: ${JSON.stringify(server)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new KubeconfigError(`${where}: unsupported scheme ${url.protocol}`);
  return withScheme.replace(/\/+$/, "");
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** client-go's InClusterConfig: KUBERNETES_SERVICE_HOST/PORT plus the mounted service-account token and CA. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): ClientConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenPath = join(dir, "token");
  if (!host || !port || !existsSync(tokenPath)) return undefined;
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const config: ClientConfig = { server: `https://${hostPart}:${port}`, namespace: "default", token: readFileSync(tokenPath, "utf8").trim() };
  const caPath = join(dir, "ca.crt");
  if (existsSync(caPath)) config.caData = readFileSync(caPath, "utf8");
  const nsPath = join(dir, "namespace");
  if (existsSync(nsPath)) config.namespace = readFileSync(nsPath, "utf8").trim() || "default";
  return config;
}

export interface ConfigFlags {
  /** --master: the apiserver URL; wins over any kubeconfig (it overrides the kubeconfig's server, as in 0.18). */
  master?: string | undefined;
  /** --kubeconfig: path to a kubeconfig file. */
  kubeconfig?: string | undefined;
  /** kubectl's --context. */
  context?: string | undefined;
}

export interface ConfigEnvironment {
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/**
 * Kubernetes components' precedence:
 *   1. --kubeconfig (with --master overriding its server), else
 *   2. --master alone (plain URL, no credentials, namespace "default"), else
 *   3. $KUBECONFIG (a path list), else ~/.kube/config when it exists, else
 *   4. the in-cluster service account.
 */
export function clientConfigFromFlags(flags: ConfigFlags, environment: ConfigEnvironment = {}): ClientConfig {
  const env = environment.env ?? process.env;
  const master = flags.master ? normalizeServer(flags.master, "--master") : undefined;
  const withMaster = (config: ClientConfig): ClientConfig => (master ? { ...config, server: master } : config);
  const loadOpts: LoadOptions = flags.context ? { context: flags.context } : {};
  if (flags.kubeconfig) return withMaster(loadKubeconfig(flags.kubeconfig, loadOpts));
  if (master) return { server: master, namespace: "default" };
  const fromEnv = (env.KUBECONFIG ?? "").split(delimiter).filter((p) => p !== "");
  const existing = fromEnv.filter((p) => existsSync(p));
  if (existing.length > 0) return loadKubeconfigs(existing, loadOpts);
  const home = join(environment.home ?? env.HOME ?? homedir(), ".kube", "config");
  if (existsSync(home)) return loadKubeconfig(home, loadOpts);
  const inCluster = inClusterConfig(env);
  if (inCluster) return inCluster;
  throw new KubeconfigError("invalid configuration: no configuration has been provided; set --master or --kubeconfig");
}

export interface KubeconfigNames {
  /** The cluster, user and context entries' names; "kubelab" by default (kubeadm: kubernetes, <user>, <user>@kubernetes). */
  cluster?: string;
  user?: string;
  context?: string;
}

/**
 * A kubeconfig holding `config`: one cluster, one user and one context, current. Certificates, keys and the CA are
 * embedded as base64 *-data fields (a kubeconfig that stands alone, as kubeadm writes them); the namespace is
 * written only when it is not "default". parseKubeconfig reads back the same ClientConfig.
 */
export function kubeconfigYaml(config: ClientConfig, names: KubeconfigNames = {}): string {
  const clusterName = names.cluster ?? "kubelab";
  const userName = names.user ?? "kubelab";
  const contextName = names.context ?? "kubelab";
  const b64 = (pem: string): string => Buffer.from(pem).toString("base64");
  const cluster: Record<string, unknown> = { server: config.server };
  if (config.caData !== undefined) cluster["certificate-authority-data"] = b64(config.caData);
  if (config.insecureSkipTLSVerify) cluster["insecure-skip-tls-verify"] = true;
  const user: Record<string, unknown> = {};
  if (config.clientCertData !== undefined) user["client-certificate-data"] = b64(config.clientCertData);
  if (config.clientKeyData !== undefined) user["client-key-data"] = b64(config.clientKeyData);
  if (config.token !== undefined) user.token = config.token;
  const context: Record<string, unknown> = { cluster: clusterName, user: userName };
  if (config.namespace !== "default" && config.namespace !== "") context.namespace = config.namespace;
  return stringifyYaml(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: clusterName, cluster }],
      users: [{ name: userName, user }],
      contexts: [{ name: contextName, context }],
      "current-context": contextName,
    },
    { lineWidth: 0 },
  );
}

/** Writes kubeconfigYaml(config) to `path` readable by its owner only (it may hold a key or token), as kubeadm. */
export function writeKubeconfigFile(path: string, config: ClientConfig, names: KubeconfigNames = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigYaml(config, names), { mode: 0o600 });
  chmodSync(path, 0o600);
}
