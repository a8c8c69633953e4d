// The pod network through standard CNI plugins, the way libcni drives them: each plugin of a network
// configuration list is executed with CNI_COMMAND / CNI_CONTAINERID / CNI_NETNS / CNI_IFNAME / CNI_PATH in its
// environment and its configuration (plus name, cniVersion, prevResult and runtimeConfig) on stdin; ADD runs
// the list in order feeding each result forward, DEL in reverse with the cached ADD result.
//
// Main plugin: ptp. Each pod gets a veth pair whose host end carries a /32 route to the pod; there is no
// shared bridge, so nothing outlives the last pod (DEL removes the veth and its route), the host-side state is
// just the routing table, which is what a host-gw pod network routes between nodes anyway. `bridge` would
// leave a cni0 bridge behind after the last DEL and add L2 concerns (hairpin, promiscuity) for no gain here.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CommandError, run } from "./exec.js";
import type { CniResult, PortMapping } from "./types.js";

export const CNI_VERSION = "1.0.0";
export const DEFAULT_CNI_BIN_DIR = "/usr/lib/cni";
export const DEFAULT_NETWORK_NAME = "kubelab";

export type CniPluginConfig = Record<string, unknown> & { type: string };

export interface CniConfigList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

export interface NodeCniOptions {
  /** The node's pod CIDR, e.g. 10.244.1.0/24 (from Node.spec.podCIDR). */
  podCIDR: string;
  networkName?: string;
  /** Where host-local keeps its leases; defaults to host-local's own /var/lib/cni/networks. */
  ipamDataDir?: string;
  mtu?: number;
}

/** The per-node network: ptp with host-local IPAM on the podCIDR, then portmap for hostPort. */
export function nodeConfigList(options: NodeCniOptions): CniConfigList {
  const ipam: Record<string, unknown> = {
    type: "host-local",
    ranges: [[{ subnet: options.podCIDR }]],
    routes: [{ dst: "0.0.0.0/0" }],
  };
  if (options.ipamDataDir !== undefined) ipam.dataDir = options.ipamDataDir;
  const ptp: CniPluginConfig = { type: "ptp", ipMasq: false, ipam };
  if (options.mtu !== undefined) ptp.mtu = options.mtu;
  return {
    cniVersion: CNI_VERSION,
    name: options.networkName ?? DEFAULT_NETWORK_NAME,
    plugins: [ptp, { type: "portmap", capabilities: { portMappings: true }, snat: true }],
  };
}

/** The loopback network every pod gets on "lo", run apart from the pod network as CRI-O does. */
export function loopbackConfigList(): CniConfigList {
  return { cniVersion: CNI_VERSION, name: "loopback", plugins: [{ type: "loopback" }] };
}

/** Writes the node's network as <dir>/10-<name>.conflist (atomically: a reader never sees half a file). */
export async function writeNodeConfigList(dir: string, options: NodeCniOptions): Promise<string> {
  const list = nodeConfigList(options);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `10-${list.name}.conflist`);
  await writeFile(`${path}.tmp`, JSON.stringify(list, null, 2));
  await rename(`${path}.tmp`, path);
  return path;
}

/** Narrows a parsed .conflist; names the bad field. */
export function parseConfigList(value: unknown, source: string): CniConfigList {
  if (!isRecord(value)) throw new Error(`${source}: not a JSON object`);
  const { cniVersion, name, plugins } = value;
  if (typeof cniVersion !== "string") throw new Error(`${source}: cniVersion must be a string`);
  if (typeof name !== "string" || name === "") throw new Error(`${source}: name must be a non-empty string`);
  if (!Array.isArray(plugins) || plugins.length === 0) throw new Error(`${source}: plugins must be a non-empty list`);
  const parsed = plugins.map((plugin: unknown, i): CniPluginConfig => {
    if (!isRecord(plugin) || typeof plugin.type !== "string") throw new Error(`${source}: plugins[${i}].type must be a string`);
    return { ...plugin, type: plugin.type };
  });
  return { cniVersion, name, plugins: parsed };
}

/** The lexically first *.conflist in dir, as libcni picks the default network. */
export async function loadDefaultConfigList(dir: string): Promise<CniConfigList> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(".conflist")).sort();
  const first = names[0];
  if (first === undefined) throw new Error(`no .conflist in ${dir}`);
  const path = join(dir, first);
  return parseConfigList(JSON.parse(await readFile(path, "utf8")) as unknown, path);
}

/** Parses a plugin's ADD result (spec 0.3.x, 0.4.0, 1.0.0 share this shape for what we read). */
export function parseCniResult(value: unknown): CniResult {
  if (!isRecord(value)) throw new Error("CNI result: not a JSON object");
  const cniVersion = typeof value.cniVersion === "string" ? value.cniVersion : "";
  const interfaces = arrayOf(value.interfaces).flatMap((entry) => {
    if (!isRecord(entry) || typeof entry.name !== "string") return [];
    const out: CniResult["interfaces"][number] = { name: entry.name };
    if (typeof entry.mac === "string") out.mac = entry.mac;
    if (typeof entry.sandbox === "string") out.sandbox = entry.sandbox;
    return [out];
  });
  const ips = arrayOf(value.ips).flatMap((entry) => {
    if (!isRecord(entry) || typeof entry.address !== "string") return [];
    const out: CniResult["ips"][number] = { address: entry.address };
    if (typeof entry.gateway === "string") out.gateway = entry.gateway;
    if (typeof entry.interface === "number") out.interface = entry.interface;
    return [out];
  });
  const routes = arrayOf(value.routes).flatMap((entry) => {
    if (!isRecord(entry) || typeof entry.dst !== "string") return [];
    const out: CniResult["routes"][number] = { dst: entry.dst };
    if (typeof entry.gw === "string") out.gw = entry.gw;
    return [out];
  });
  const dnsValue = value.dns;
  const dns: CniResult["dns"] = {};
  if (isRecord(dnsValue)) {
    const nameservers = arrayOf(dnsValue.nameservers).filter((s): s is string => typeof s === "string");
    if (nameservers.length > 0) dns.nameservers = nameservers;
    if (typeof dnsValue.domain === "string") dns.domain = dnsValue.domain;
    const search = arrayOf(dnsValue.search).filter((s): s is string => typeof s === "string");
    if (search.length > 0) dns.search = search;
  }
  return { cniVersion, interfaces, ips, routes, dns };
}

/**
 * The pod's addresses from a result, without prefix length, IPv4 first. Only addresses on an interface inside
 * the sandbox count (a plugin may also report the host end); a result without interface indexes counts all.
 */
export function podIPs(result: CniResult): string[] {
  const ips = result.ips
    .filter((ip) => {
      if (ip.interface === undefined) return true;
      const iface = result.interfaces[ip.interface];
      return iface?.sandbox !== undefined && iface.sandbox !== "";
    })
    .map((ip) => ip.address.split("/")[0] ?? ip.address);
  return [...ips.filter((ip) => !ip.includes(":")), ...ips.filter((ip) => ip.includes(":"))];
}

/** A plugin's error reply ({code, msg, details}) or its failure to run. */
export class CniError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: CniCommand,
    readonly code: number | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`CNI ${plugin} ${command}: ${message}`, options);
    this.name = "CniError";
  }
}

export type CniCommand = "ADD" | "DEL" | "CHECK";

export interface CniAttachment {
  containerId: string;
  netnsPath: string;
  ifName: string;
  portMappings?: readonly PortMapping[];
}

export interface CniInvokerOptions {
  binDirs?: readonly string[];
  /**
   * A network namespace (path) to run the plugins in: the node's own, whose side gets the host end of pod
   * links. Default: the caller's network namespace.
   */
  hostNetnsPath?: string;
  timeoutMs?: number;
}

/** Runs CNI plugins per the spec's execution protocol. */
export class CniInvoker {
  private readonly binDirs: readonly string[];

  constructor(private readonly options: CniInvokerOptions = {}) {
    this.binDirs = options.binDirs ?? [DEFAULT_CNI_BIN_DIR];
  }

  /** ADD through the whole list; returns the last plugin's result. */
  async add(list: CniConfigList, attachment: CniAttachment): Promise<CniResult> {
    let prevResult: unknown;
    for (const plugin of list.plugins) {
      prevResult = await this.exec("ADD", list, plugin, attachment, prevResult);
    }
    return parseCniResult(prevResult);
  }

  /** CHECK each plugin with the result ADD returned. */
  async check(list: CniConfigList, attachment: CniAttachment, result: CniResult): Promise<void> {
    for (const plugin of list.plugins) await this.exec("CHECK", list, plugin, attachment, result);
  }

  /**
   * DEL in reverse order. Every plugin is tried even if one fails (so a stuck portmap does not leak the veth);
   * the first error is thrown at the end.
   */
  async del(list: CniConfigList, attachment: CniAttachment, result: CniResult | undefined): Promise<void> {
    let firstError: Error | undefined;
    for (const plugin of [...list.plugins].reverse()) {
      try {
        await this.exec("DEL", list, plugin, attachment, result);
      } catch (err) {
        firstError ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  private async exec(
    command: CniCommand,
    list: CniConfigList,
    plugin: CniPluginConfig,
    attachment: CniAttachment,
    prevResult: unknown,
  ): Promise<unknown> {
    const config = pluginInvocationConfig(list, plugin, attachment, prevResult);
    // Like libcni: the first directory of CNI_PATH that holds the plugin.
    const dirs = this.binDirs.length > 0 ? this.binDirs : [DEFAULT_CNI_BIN_DIR];
    const binary = join(dirs.find((dir) => existsSync(join(dir, plugin.type))) ?? dirs[0] ?? DEFAULT_CNI_BIN_DIR, plugin.type);
    const argv = this.options.hostNetnsPath === undefined ? [binary] : ["nsenter", `--net=${this.options.hostNetnsPath}`, binary];
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: command,
      CNI_CONTAINERID: attachment.containerId,
      CNI_NETNS: attachment.netnsPath,
      CNI_IFNAME: attachment.ifName,
      CNI_PATH: this.binDirs.join(":"),
    };
    let result;
    try {
      result = await run(argv, { input: JSON.stringify(config), env, timeoutMs: this.options.timeoutMs ?? 60_000 });
    } catch (err) {
      throw new CniError(plugin.type, command, undefined, err instanceof Error ? err.message : String(err), { cause: err });
    }
    const stdout = result.stdout.toString().trim();
    if (result.code !== 0) {
      const reply = safeJson(stdout);
      if (isRecord(reply) && typeof reply.msg === "string") {
        const details = typeof reply.details === "string" && reply.details !== "" ? `: ${reply.details}` : "";
        throw new CniError(plugin.type, command, typeof reply.code === "number" ? reply.code : undefined, reply.msg + details);
      }
      throw new CniError(plugin.type, command, undefined, new CommandError(argv.join(" "), result).message);
    }
    if (command !== "ADD") return prevResult;
    const parsed = safeJson(stdout);
    if (parsed === undefined) throw new CniError(plugin.type, command, undefined, `result is not JSON: ${stdout.slice(0, 200)}`);
    return parsed;
  }
}

/**
 * The stdin of one plugin: its own config plus the list's name and version, the previous result, and
 * runtimeConfig for the capabilities it declares (only portMappings here).
 */
export function pluginInvocationConfig(
  list: CniConfigList,
  plugin: CniPluginConfig,
  attachment: Pick<CniAttachment, "portMappings">,
  prevResult: unknown,
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  delete config.capabilities;
  if (prevResult !== undefined) config.prevResult = prevResult;
  const capabilities = plugin.capabilities;
  if (isRecord(capabilities) && capabilities.portMappings === true && (attachment.portMappings?.length ?? 0) > 0) {
    config.runtimeConfig = {
      portMappings: (attachment.portMappings ?? []).map((m) => ({
        hostPort: m.hostPort,
        containerPort: m.containerPort,
        protocol: m.protocol,
        ...(m.hostIP === undefined ? {} : { hostIP: m.hostIP }),
      })),
    };
  }
  return config;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
