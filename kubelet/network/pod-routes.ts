// host-gw pod routing (flannel's host-gw backend, done by the kubelet): in the network namespace the kubelet runs in,
// one route per other Node, `<its spec.podCIDR> via <its InternalIP>`, so pods on every node reach each other by IP
// without NAT or encapsulation. It needs every node on one L2 segment (the lab bridge), which is what the lab builds.
//
// Ownership: the routes carry rtnetlink protocol POD_ROUTES_PROTO (151, `proto 151` to iproute2: outside the numbers
// /etc/iproute2/rt_protos reserves and those routing daemons are known to use), so only the routes this code made
// are ever changed or removed; a route of another origin to the same destination is left alone (and logged). A
// restarted kubelet finds its earlier routes by that mark and adopts them.
//
// Level-based: informer handlers only ask for a sync when a Node's route changes; a sync lists the marked routes
// (`ip -j route show`), compares them with what the Nodes want, and replaces or deletes the difference; it also runs
// every resyncPeriodMs (repairing routes someone removed), and after a failure with backoff. IPv4 only.
// Once a sync leaves every wanted route in place, setNetworkUnavailable (wired to the NodeStatusManager) is told
// NetworkUnavailable=False, RouteCreated. stop() removes the routes it made.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { errorMessage } from "../../api/errors.js";
import type { Node } from "../../api/types/index.js";
import { Backoff } from "../../client/backoff.js";
import type { HandlerRegistration, Informer } from "../../client/informer.js";
import { realClock, type Clock, type Timer } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import type { ConditionState } from "../nodestatus/status.js";

/** The rtnetlink protocol number that marks the routes this code owns. */
export const POD_ROUTES_PROTO = 151;
export const ROUTE_CREATED_REASON = "RouteCreated";
export const ROUTE_CREATED_MESSAGE = "kubelab host-gw routes configured";
const DEFAULT_RESYNC_MS = 30_000;

/** Runs `ip ARGS` (iproute2) and resolves its stdout; rejects with its stderr in the message. */
export type IpRunner = (args: readonly string[]) => Promise<string>;

/** iproute2's `ip`: where Debian installs it, so a kubelet started with a short PATH still finds it. */
const IP_BINARY = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].find((p) => existsSync(p)) ?? "ip";

export const runIp: IpRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile(IP_BINARY, [...args], { timeout: 10_000, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });

export interface PodRoutesOptions {
  nodeName: string;
  nodes: Informer<Node>;
  logger: Logger;
  /** How `ip` runs (default: runIp, in the kubelet's own namespace; tests prefix `-n <netns>`). */
  runIp?: IpRunner;
  /** The protocol number marking owned routes (default POD_ROUTES_PROTO). */
  protocol?: number;
  clock?: Clock;
  /** Full resync period (default 30 s). */
  resyncPeriodMs?: number;
  /** Told NetworkUnavailable=False once every route is in place (wire to NodeStatusManager.setNetworkUnavailable). */
  setNetworkUnavailable?: (state: ConditionState) => void;
}

/** One pod route: a destination in `ip route` form (network address; no /32) through a gateway. */
export interface PodRoute {
  dst: string;
  gateway: string;
}

function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    value = value * 256 + Number(p);
  }
  return value;
}

function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** An IPv4 CIDR the way `ip route` prints it as a destination: masked network address, a /32 as a bare address. */
export function routeDestination(cidr: string): string | undefined {
  const [addr = "", bits = "32", ...rest] = cidr.trim().split("/");
  const ip = parseIPv4(addr);
  const prefix = Number(bits);
  if (ip === undefined || rest.length > 0 || !/^\d{1,2}$/.test(bits) || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const network = formatIPv4(Math.floor(ip / size) * size);
  return prefix === 32 ? network : `${network}/${prefix}`;
}

/** The route a Node wants on the other nodes: its IPv4 podCIDR via its IPv4 InternalIP, if it has both. */
export function nodeRoute(node: Readonly<Node>): PodRoute | undefined {
  const cidrs = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  const gateway = node.status?.addresses?.find((a) => a.type === "InternalIP" && parseIPv4(a.address) !== undefined)?.address;
  if (!gateway) return undefined;
  for (const cidr of cidrs) {
    const dst = routeDestination(cidr);
    if (dst) return { dst, gateway };
  }
  return undefined;
}

/** Every other Node's route, one per destination (the first Node by name wins a duplicate podCIDR). */
export function desiredRoutes(nodes: readonly Readonly<Node>[], self: string): PodRoute[] {
  const byDst = new Map<string, PodRoute>();
  const sorted = [...nodes].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  for (const node of sorted) {
    if (node.metadata.name === self || node.metadata.deletionTimestamp) continue;
    const route = nodeRoute(node);
    if (route && !byDst.has(route.dst)) byDst.set(route.dst, route);
  }
  return [...byDst.values()].sort((a, b) => a.dst.localeCompare(b.dst));
}

export interface RoutePlan {
  /** Routes to install with `ip route replace` (missing, or pointing elsewhere). */
  replace: PodRoute[];
  /** Owned routes no Node wants any more. */
  remove: PodRoute[];
  /** Wanted routes whose destination has a route of another origin: left alone. */
  conflicts: PodRoute[];
}

/** The difference between the wanted routes and the owned ones (`ours`), given every destination routed by others. */
export function planRoutes(desired: readonly PodRoute[], ours: readonly PodRoute[], foreignDsts: ReadonlySet<string>): RoutePlan {
  const have = new Map(ours.map((r) => [r.dst, r]));
  const want = new Set(desired.map((r) => r.dst));
  const plan: RoutePlan = { replace: [], remove: [], conflicts: [] };
  for (const route of desired) {
    if (foreignDsts.has(route.dst)) plan.conflicts.push(route);
    else if (have.get(route.dst)?.gateway !== route.gateway) plan.replace.push(route);
  }
  for (const route of ours) if (!want.has(route.dst) || foreignDsts.has(route.dst)) plan.remove.push(route);
  return plan;
}

/** Routes from `ip -j route show` output (entries without a gateway, e.g. on-link ones, included with gateway ""). */
export function parseRoutes(json: string): (PodRoute & { protocol: string })[] {
  const text = json.trim();
  if (text === "") return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) return [];
  const out: (PodRoute & { protocol: string })[] = [];
  for (const entry of parsed as unknown[]) {
    if (typeof entry !== "object" || entry === null) continue;
    const { dst, gateway, protocol } = entry as Record<string, unknown>;
    if (typeof dst !== "string") continue;
    out.push({ dst, gateway: typeof gateway === "string" ? gateway : "", protocol: typeof protocol === "string" ? protocol : "" });
  }
  return out;
}

export class PodRoutes {
  private readonly run: IpRunner;
  private readonly protocol: string;
  private readonly clock: Clock;
  private readonly resyncMs: number;
  private readonly backoff: Backoff;
  private readonly abort = new AbortController();
  private registration: HandlerRegistration | undefined;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private stopped = false;
  private reported = false;
  private readonly warnedConflicts = new Set<string>();

  constructor(readonly options: PodRoutesOptions) {
    this.run = options.runIp ?? runIp;
    this.protocol = String(options.protocol ?? POD_ROUTES_PROTO);
    this.clock = options.clock ?? realClock;
    this.resyncMs = options.resyncPeriodMs ?? DEFAULT_RESYNC_MS;
    this.backoff = new Backoff({ initialMs: 1000, maxMs: this.resyncMs, jitter: 0.1, clock: this.clock });
  }

  /** Starts watching Nodes; the first sync runs once the informer has synced. Resolves at once. */
  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    this.started = true;
    const onChange = (old: Readonly<Node> | undefined, node: Readonly<Node> | undefined): void => {
      if (node?.metadata.name === this.options.nodeName || old?.metadata.name === this.options.nodeName) return;
      const before = old ? nodeRoute(old) : undefined;
      const after = node ? nodeRoute(node) : undefined;
      if (before?.dst !== after?.dst || before?.gateway !== after?.gateway || Boolean(node?.metadata.deletionTimestamp) !== Boolean(old?.metadata.deletionTimestamp)) this.requestSync();
    };
    this.registration = this.options.nodes.addEventHandler({
      onAdd: (node) => { onChange(undefined, node); },
      onUpdate: (old, node) => { onChange(old, node); },
      onDelete: () => { this.requestSync(); },
    });
    void this.options.nodes.waitForSync(this.abort.signal).then((synced) => {
      if (synced) this.requestSync();
    });
    return Promise.resolve();
  }

  /**
   * Stops syncing and, unless `removeRoutes` is false, removes the routes this kubelet added. A kubelet that only
   * restarts keeps them (pods on other nodes stay reachable meanwhile, as with flannel); the next one adopts them.
   */
  async stop(opts: { removeRoutes?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.registration?.remove();
    this.timer?.cancel();
    await this.running;
    if (opts.removeRoutes === false) return;
    try {
      for (const route of await this.ownedRoutes()) await this.remove(route);
    } catch (err) {
      this.options.logger.warn({ err }, "Removing pod routes failed");
    }
  }

  /** Asks for a sync; coalesces with one in flight. No-op until the Node informer has synced. */
  requestSync(): void {
    if (this.stopped || !this.options.nodes.hasSynced()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.timer = undefined;
    this.running = this.loop();
  }

  /** Runs one sync now (tests, and callers that want the routes in place before going on); throws its failure. */
  async syncNow(): Promise<void> {
    while (this.running) await this.running;
    const once = this.sync();
    this.running = once.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      this.running = undefined;
    });
    await once;
  }

  private async loop(): Promise<void> {
    let delay = this.resyncMs;
    do {
      this.again = false;
      try {
        await this.sync();
        this.backoff.reset();
        delay = this.resyncMs;
      } catch (err) {
        if (this.stopped) break;
        delay = this.backoff.next();
        this.options.logger.warn({ err, retryInMs: Math.round(delay) }, "Syncing pod routes failed");
      }
    } while (this.again && !this.stopped);
    this.running = undefined;
    if (!this.stopped) this.timer = this.clock.setTimeout(() => { this.requestSync(); }, delay);
  }

  private async sync(): Promise<void> {
    const o = this.options;
    const desired = desiredRoutes(o.nodes.lister.list(), o.nodeName);
    const ours = await this.ownedRoutes();
    const ourDsts = new Set(ours.map((r) => r.dst));
    const foreign = new Set(parseRoutes(await this.run(["-j", "-4", "route", "show", "table", "main"])).filter((r) => r.protocol !== this.protocol && !ourDsts.has(r.dst)).map((r) => r.dst));
    const plan = planRoutes(desired, ours, foreign);
    const failures: string[] = [];
    for (const route of plan.remove) {
      try {
        await this.remove(route);
        o.logger.info({ dst: route.dst, via: route.gateway }, "Removed pod route");
      } catch (err) {
        failures.push(errorMessage(err));
      }
    }
    for (const route of plan.replace) {
      try {
        await this.run(["route", "replace", route.dst, "via", route.gateway, "proto", this.protocol]);
        o.logger.info({ dst: route.dst, via: route.gateway }, "Programmed pod route");
      } catch (err) {
        failures.push(errorMessage(err));
      }
    }
    for (const route of plan.conflicts) {
      if (this.warnedConflicts.has(route.dst)) continue;
      this.warnedConflicts.add(route.dst);
      o.logger.warn({ dst: route.dst, via: route.gateway }, "A route of another origin covers this podCIDR; leaving it alone");
    }
    if (failures.length > 0) throw new Error(`${failures.length} pod route change(s) failed: ${failures.join("; ")}`);
    if (!this.reported) {
      this.reported = true;
      o.setNetworkUnavailable?.({ status: "False", reason: ROUTE_CREATED_REASON, message: ROUTE_CREATED_MESSAGE });
    }
  }

  private async ownedRoutes(): Promise<PodRoute[]> {
    const listed = parseRoutes(await this.run(["-j", "-4", "route", "show", "table", "main", "proto", this.protocol]));
    return listed.filter((r) => r.dst !== "default").map(({ dst, gateway }) => ({ dst, gateway }));
  }

  private async remove(route: PodRoute): Promise<void> {
    try {
      await this.run(["route", "del", route.dst, "proto", this.protocol]);
    } catch (err) {
      // Gone already: what removing wanted.
      if (/No such process|FIB table does not exist/.test(errorMessage(err))) return;
      throw err;
    }
  }
}
