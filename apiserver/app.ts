// Assembles the apiserver from its options: etcd storage, watch caches, allocators, registry, HTTP server,
// bootstrap reconcilers. Used by main.ts and by tests that want a real apiserver in-process.
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import type { Server } from "node:http";
import type { Logger } from "../component-base/logging.js";
import { createRegistry as createPromRegistry } from "../component-base/metrics.js";
import { admissionChainFor } from "./admission/plugins.js";
import { Aggregator } from "./aggregator/aggregator.js";
import { setOpenApiSchemaProvider } from "./http/openapi-schemas.js";
import { CustomResources } from "./registry/apiextensions/custom-resources.js";
import { loadServiceAccountTokens } from "./auth/service-account-tokens.js";
import { authorizerFor } from "./auth/authorization-modes.js";
import type { Authorizer } from "./auth/authorizer.js";
import { BootstrapController } from "./bootstrap.js";
import { createApiServerMetrics, registerStorageObjects } from "./metrics.js";
import { etcdComponentProbe, httpComponentProbe } from "./registry/componentstatuses/componentstatuses.js";
import { reconcileBootstrapPolicy } from "./registry/rbac/bootstrap-policy.js";
import type { ResourceStore } from "./registry/store.js";
import type { ApiServerOptions } from "./options.js";
import { Registry } from "./registry/registry.js";
import { createKubeletProxy } from "./kubelet-proxy.js";
import { createApiServer } from "./server.js";
import { ClusterIPAllocator, NodePortAllocator } from "./registry/services/allocators.js";
import { EtcdStorage } from "./storage/etcd-storage.js";
import { createWatchCache } from "./storage/watch-cache.js";

export interface RunningApiServer {
  server: Server;
  port: number;
  url: string;
  /** Resolves once caches are synced and the bootstrap objects exist. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions, logger: Logger): Promise<RunningApiServer> {
  const promRegistry = createPromRegistry();
  const metrics = createApiServerMetrics(promRegistry);
  const storage = new EtcdStorage({
    endpoints: options.etcdServers.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    prefix: options.etcdPrefix,
    observe: (operation, type, seconds) => {
      metrics.etcdRequestDuration.observe({ operation, type }, seconds);
    },
  });
  const clusterIPs = new ClusterIPAllocator({ storage, cidr: options.serviceClusterIpRange, prefix: options.etcdPrefix });
  const nodePorts = new NodePortAllocator({ storage, range: options.serviceNodePortRange, prefix: options.etcdPrefix });
  const { tokens: serviceAccountTokens, generated } = await loadServiceAccountTokens({
    signingKeyFile: options.serviceAccountSigningKeyFile,
    keyFiles: options.serviceAccountKeyFile,
    issuer: options.serviceAccountIssuer,
    apiAudiences: options.apiAudiences.length > 0 ? options.apiAudiences : [options.serviceAccountIssuer],
  });
  if (generated) logger.warn("no --service-account-signing-key-file or --service-account-key-file: signing service account tokens with a key generated at start; they stop verifying when the apiserver restarts");
  // The authorizer reads the registry's caches, so it is made after the registry, which hands it to the reviews.
  const authorization: { authorizer?: Authorizer } = {};
  const registry = new Registry({
    authorizer: () => authorization.authorizer,
    storage,
    prefix: options.etcdPrefix,
    createCache: (prefix) => createWatchCache(storage, prefix, { capacity: options.watchCacheSize, logger }),
    allocators: { clusterIPs, nodePorts, serviceRange: options.serviceClusterIpRange },
    eventTtlSeconds: Math.max(1, Math.round(options.eventTtl / 1000)),
    defaultNotReadyTolerationSeconds: options.defaultNotReadyTolerationSeconds,
    defaultUnreachableTolerationSeconds: options.defaultUnreachableTolerationSeconds,
    serviceAccountTokens,
    admission: admissionChainFor(options.enableAdmissionPlugins, options.disableAdmissionPlugins),
    componentProbes: [
      httpComponentProbe("scheduler", "http://127.0.0.1:10251/healthz"),
      httpComponentProbe("controller-manager", "http://127.0.0.1:10252/healthz"),
      etcdComponentProbe("etcd-0", () => storage.healthy()),
    ],
  });

  authorization.authorizer = authorizerFor(options.authorizationMode, { registry });

  registerStorageObjects(promRegistry, () => [...registry.caches].map(([prefix, cache]) => [prefix.slice(options.etcdPrefix.length + 1, -1), cache.objectCount] as const));

  const advertiseAddress = options.advertiseAddress ?? defaultAdvertiseAddress(options.bindAddress);
  let bootstrapped = false;
  const aggregator = new Aggregator({ registry, logger: logger.child({ component: "aggregator" }) });
  const customResources = new CustomResources({
    registry,
    storage,
    prefix: options.etcdPrefix,
    createCache: (prefix) => createWatchCache(storage, prefix, { capacity: options.watchCacheSize, logger }),
    logger: logger.child({ component: "apiextensions" }),
  });
  // kubectl explain and client-side validation see each established CRD version's schema.
  setOpenApiSchemaProvider({ generation: () => customResources.generation, schemas: () => customResources.openApiSchemas() });
  const server = createApiServer({
    aggregator,
    customResources,
    registry,
    storage,
    metrics,
    promRegistry,
    logger,
    serverAddress: `${advertiseAddress}:${options.insecurePort}`,
    kubeletProxy: createKubeletProxy({ getNode: (name) => registry.core("nodes").get(undefined, name) }),
    bootstrapped: () => bootstrapped,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.insecurePort, options.bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ address: options.bindAddress, port, etcd: options.etcdServers }, "Serving insecurely on HTTP");

  const bootstrap = new BootstrapController({
    registry,
    logger,
    kubernetesServiceIP: clusterIPs.firstIP,
    advertiseAddress,
    port,
    leases: { storage, prefix: options.etcdPrefix },
  });
  let stopped = false;
  const ready = (async () => {
    // Caches list etcd and retry by themselves; the bootstrap objects need a reachable etcd, so keep trying.
    for (let delay = 100; !stopped; delay = Math.min(delay * 2, 5000)) {
      try {
        await Promise.all([...registry.caches.values()].map((c) => c.waitForRevision(0, 5000)));
        await bootstrap.reconcile();
        await bootstrap.start();
        await aggregator.start();
        await customResources.start();
        await reconcileBootstrapPolicy(rbacStore(registry, "clusterroles"), rbacStore(registry, "clusterrolebindings"));
        await repairAllocators(registry, clusterIPs, nodePorts, logger);
        bootstrapped = true;
        logger.info("apiserver is ready");
        return;
      } catch (err) {
        logger.warn({ err: String(err), retryInMs: delay }, "waiting for etcd before bootstrapping");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  })();

  return {
    server,
    port,
    url: `http://${options.bindAddress === "0.0.0.0" ? "127.0.0.1" : options.bindAddress}:${port}`,
    ready,
    async stop() {
      stopped = true;
      bootstrap.stop();
      aggregator.stop();
      customResources.stop();
      registry.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
      await storage.close();
    },
  };
}

function rbacStore(registry: Registry, resource: string): ResourceStore {
  const store = registry.storeOf("rbac.authorization.k8s.io", resource);
  if (!store) throw new Error(`no store for ${resource}.rbac.authorization.k8s.io`);
  return store;
}

/** Frees reservation keys left by services that no longer exist (a crash between reserve and write). */
async function repairAllocators(registry: Registry, clusterIPs: ClusterIPAllocator, nodePorts: NodePortAllocator, logger: Logger): Promise<void> {
  const services = await registry.core("services").list(undefined, { resourceVersion: "0" });
  const ips = new Map<string, string>();
  const ports = new Map<number, string>();
  for (const svc of services.items) {
    const owner = `${svc.metadata.namespace ?? ""}/${svc.metadata.name ?? ""}`;
    const spec = (svc.spec ?? {}) as { clusterIP?: string; ports?: { nodePort?: number }[] };
    if (spec.clusterIP && spec.clusterIP !== "None") ips.set(spec.clusterIP, owner);
    for (const p of spec.ports ?? []) if (p.nodePort) ports.set(p.nodePort, owner);
  }
  // Only reservations older than this list may be judged leaked; newer ones may belong to a write in flight.
  const revision = Number(services.resourceVersion);
  const freedIPs = await clusterIPs.repair(ips, { revision });
  const freedPorts = await nodePorts.repair(ports, { revision });
  if (freedIPs + freedPorts > 0) logger.info({ freedIPs, freedPorts }, "repaired service allocations");
}

/**
 * Kubernetes advertises the bind address unless it is unspecified or loopback (Endpoints may not hold loopback
 * addresses); then it picks the host's first non-loopback IPv4 address.
 */
function defaultAdvertiseAddress(bindAddress: string): string {
  if (bindAddress !== "0.0.0.0" && bindAddress !== "::" && !bindAddress.startsWith("127.") && bindAddress !== "::1") return bindAddress;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
