// The userspace proxier (0.18's design): kube-proxy itself carries the traffic. Each service port gets a socket
// of its own on a port the kernel picks (proxy-socket.ts), relaying to the port's endpoints round-robin
// (load-balancer.ts); iptables "portals" (rules.ts) send the ClusterIP:port, external IPs and NodePort there.
// A sync opens and closes sockets as service ports come and go, hands the load balancer the usable endpoints,
// and rewrites the portals in one `iptables-restore --noflush`. Killed, the portals stay but lead nowhere until it
// is back: that is the mode's nature (and why the iptables mode replaced it).
import { networkInterfaces } from "node:os";
import { endpointString, usableEndpoints } from "../endpoints.js";
import { isOwnChain } from "../iptables/chains.js";
import { renderCleanup } from "../iptables/cleanup.js";
import { parseIptablesSave } from "../iptables/save.js";
import { ChangeTrackingProxier, type ProxierOptions } from "../proxier.js";
import { servicePortNameString, type ServicePortInfo } from "../service-port.js";
import { RoundRobinLoadBalancer } from "./load-balancer.js";
import { openTcpProxy, openUdpProxy, type ProxySocket } from "./proxy-socket.js";
import { renderPortalRules, type Portal } from "./rules.js";

export interface UserspaceProxierOptions extends ProxierOptions {
  /**
   * --bind-address: where the relays listen and where the node's own traffic to a Service is DNATed. 0.0.0.0 (the
   * default) listens everywhere and DNATs to the node's first non-loopback IPv4 address.
   */
  bindAddress?: string;
  /** --udp-timeout: how long an idle UDP client relay stays open. */
  udpIdleTimeoutMs: number;
}

/** The node's first non-loopback IPv4 address, or 127.0.0.1. */
export function primaryNodeIP(): string {
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return "127.0.0.1";
}

export class UserspaceProxier extends ChangeTrackingProxier {
  private readonly lb = new RoundRobinLoadBalancer();
  private readonly sockets = new Map<string, { protocol: string; socket: ProxySocket }>();
  private readonly nodeIP: string;

  constructor(private readonly opts: UserspaceProxierOptions) {
    super(opts);
    const bind = opts.bindAddress ?? "0.0.0.0";
    this.nodeIP = bind === "0.0.0.0" ? primaryNodeIP() : bind;
  }

  override async stop(): Promise<void> {
    await super.stop();
    await Promise.all([...this.sockets.values()].map((s) => s.socket.close()));
    this.sockets.clear();
  }

  /** The port kube-proxy listens on for a service port (tests, logs). */
  proxyPort(servicePort: string): number | undefined {
    return this.sockets.get(servicePort)?.socket.port;
  }

  async syncProxyRules(): Promise<boolean> {
    const { clock, logger, metrics } = this.opts;
    const start = clock.now();
    this.serviceChanges.apply(this.serviceMap);
    const endpoints = this.endpointChanges.apply(this.endpointsMap);
    metrics.serviceChangesPending.set(0);
    metrics.endpointChangesPending.set(0);

    for (const [name, s] of this.sockets) {
      const info = this.serviceMap.get(name);
      if (info?.protocol === s.protocol) continue;
      await s.socket.close();
      this.sockets.delete(name);
      this.lb.remove(name);
    }
    const portals: Portal[] = [];
    for (const [name, info] of this.serviceMap) {
      // SCTP has no userspace relay here.
      if (info.protocol === "SCTP") continue;
      this.lb.update(name, usableEndpoints(this.endpointsMap.get(name) ?? []).map(endpointString), info.stickyMaxAgeSeconds);
      const socket = await this.ensureSocket(name, info).catch((err: unknown) => {
        logger.error({ err, servicePort: name }, "Failed to open the proxy socket");
        return undefined;
      });
      if (!socket) continue;
      portals.push({ servicePort: servicePortNameString(info.name), protocol: info.protocol, clusterIP: info.clusterIP, port: info.port, externalIPs: info.externalIPs, nodePort: info.nodePort, proxyPort: socket.port });
    }

    const saved = await this.exec(["iptables-save"]);
    if (saved.code !== 0) {
      metrics.syncProxyRulesFailures.inc();
      logger.error({ stderr: saved.stderr.trim() }, "Failed to execute iptables-save");
      return false;
    }
    const existing = parseIptablesSave(saved.stdout);
    // Switching from the iptables mode: its DNAT rules would catch Service traffic before the portals.
    const leftovers = renderCleanup(existing, isOwnChain);
    if (leftovers !== "") {
      const cleaned = await this.exec(["iptables-restore", "--noflush"], leftovers);
      if (cleaned.code !== 0) logger.warn({ stderr: cleaned.stderr.trim() }, "Failed to remove the iptables mode's rules");
    }
    const bind = this.opts.bindAddress ?? "0.0.0.0";
    const rendered = renderPortalRules(portals, this.nodeIP, existing, bind === "0.0.0.0" ? undefined : bind);
    const restored = await this.exec(["iptables-restore", "--noflush"], rendered.text);
    if (restored.code !== 0) {
      metrics.iptablesRestoreFailures.inc();
      metrics.syncProxyRulesFailures.inc();
      logger.error({ stderr: restored.stderr.trim() }, "Failed to execute iptables-restore");
      return false;
    }
    const done = clock.now();
    this.opts.health.updated();
    metrics.syncProxyRulesLatency.observe((done - start) / 1000);
    metrics.syncProxyRulesLastTimestamp.set(done / 1000);
    metrics.iptablesRulesTotal.set({ table: "nat" }, rendered.rules);
    metrics.iptablesRulesTotal.set({ table: "filter" }, 0);
    for (const t of endpoints.lastChangeTriggerTimes) metrics.networkProgrammingLatency.observe(Math.max(0, done - t) / 1000);
    logger.debug({ ms: done - start, servicePorts: portals.length }, "Synced userspace portals");
    return true;
  }

  private async ensureSocket(name: string, info: ServicePortInfo): Promise<ProxySocket> {
    const existing = this.sockets.get(name);
    if (existing) return existing.socket;
    const socketOpts = {
      pick: (clientIP: string) => this.lb.next(name, clientIP, this.opts.clock.now()),
      failed: (clientIP: string, endpoint: string) => {
        this.lb.resetAffinity(name, clientIP, endpoint);
      },
      logger: this.opts.logger.child({ servicePort: name }),
      ...(this.opts.bindAddress !== undefined ? { host: this.opts.bindAddress } : {}),
    };
    const socket = info.protocol === "UDP" ? await openUdpProxy({ ...socketOpts, idleTimeoutMs: this.opts.udpIdleTimeoutMs }) : await openTcpProxy(socketOpts);
    this.sockets.set(name, { protocol: info.protocol, socket });
    this.opts.logger.info({ servicePort: name, protocol: info.protocol, port: socket.port }, "Opened proxy port for service");
    return socket;
  }
}
