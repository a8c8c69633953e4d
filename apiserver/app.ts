// Assembles the apiserver from its options: etcd storage, watch caches, allocators, registry, HTTP server,
// bootstrap reconcilers. Used by main.ts and by tests that want a real apiserver in-process.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import type { Logger } from "../component-base/logging.js";
import { createRegistry as createPromRegistry } from "../component-base/metrics.js";
import { admissionChainFor } from "./admission/plugins.js";
import { Aggregator } from "./aggregator/aggregator.js";
import { setOpenApiSchemaProvider } from "./http/openapi-schemas.js";
import { CustomResources } from "./registry/apiextensions/custom-resources.js";
import { loadServiceAccountTokens } from "./auth/service-account-tokens.js";
import { authorizerFor } from "./auth/authorization-modes.js";
import type { Authorizer } from "./auth/authorizer.js";
import { allSettledOrThrow, BootstrapController } from "./bootstrap.js";
import { createApiServerMetrics, registerStorageObjects } from "./metrics.js";
import { etcdComponentProbe, httpComponentProbe } from "./registry/componentstatuses/componentstatuses.js";
import { reconcileBootstrapPolicy } from "./registry/rbac/bootstrap-policy.js";
import { reconcileNamespacePolicy } from "./registry/rbac/namespace-policy.js";
import { ExtensionAuthenticationPublisher, proxyClientCertificate, requestHeaderConfigFrom } from "./auth/front-proxy.js";
import type { ResourceStore } from "./registry/store.js";
import type { ApiServerOptions } from "./options.js";
import { Registry } from "./registry/registry.js";
import { kubeletClientTls } from "./kubelet-client-tls.js";
import { deferredApiHandlers, serveOn } from "./http/front.js";
import type { ApiServerDeps } from "./server.js";
import { bearerTokenAuthenticator, clientCertificateAuthenticator, requestHeaderAuthenticator, staticTokenAuthenticator, type RequestAuthenticator, type TokenAuthenticator } from "./auth/authenticate.js";
import { RequestAuth } from "./auth/filters.js";
import { anonymousConfigFrom, loadAuthenticationConfig } from "./auth/authentication-config.js";
import { requestUser, reviewToken, userOf } from "./auth/identity.js";
import { loadTokenFile } from "./auth/token-file.js";
import { servingCertificate } from "./serving.js";
import { ClusterIPAllocator, NodePortAllocator } from "./registry/services/allocators.js";
import { openEtcdStorage, WORKLOAD_CACHE_RESOURCES, type OpenedStorage } from "./storage/open-storage.js";
import { createWatchCache } from "./storage/watch-cache.js";
import type { WorkerLink } from "./workers.js";

export interface RunningApiServer {
  /** The insecure port's server, else the secure port's. */
  server: Server;
  /** The insecure port when it is on, else the secure port. */
  port: number;
  /** http://... of the insecure port when it is on, else https://... of the secure port. */
  url: string;
  /** The secure port's server and port, when --secure-port is not 0. */
  secure?: { server: Server; port: number; url: string };
  /** Resolves once caches are synced and the bootstrap objects exist. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * `givenFlags`: the flags the command line named (Kubernetes refuses --anonymous-auth beside an anonymous section).
 * `worker`: this process is one of a --workers=N apiserver's workers (apiserver/workers.ts).
 * `opened`: the etcd storage main.ts opened before loading this module (storage/open-storage.ts); it is this
 * server's from then on (stop() closes it). Without it, the server opens its own.
 */
export async function startApiServer(options: ApiServerOptions, logger: Logger, givenFlags: ReadonlySet<string> = new Set(), worker?: WorkerLink, opened?: OpenedStorage): Promise<RunningApiServer> {
  if (options.insecurePort === 0 && options.securePort === 0) throw new Error("--secure-port and --insecure-port are both 0: nothing to serve");
  const authenticationConfig = options.authenticationConfig !== undefined ? loadAuthenticationConfig(options.authenticationConfig) : undefined;
  const anonymous = anonymousConfigFrom({ value: options.anonymousAuth, set: givenFlags.has("anonymous-auth") }, authenticationConfig);
  const tokenFile = options.tokenAuthFile !== undefined ? loadTokenFile(options.tokenAuthFile) : undefined;
  for (const warning of tokenFile?.warnings ?? []) logger.warn(warning);
  const clientCa = options.clientCaFile !== undefined ? readFileSync(options.clientCaFile, "utf8") : undefined;
  const requestHeader = requestHeaderConfigFrom(options);
  const proxyClient = proxyClientCertificate(options);
  const promRegistry = createPromRegistry();
  const metrics = createApiServerMetrics(promRegistry);
  worker?.serveMetrics(promRegistry);
  const etcd = opened ?? (await openEtcdStorage(options));
  const storage = etcd.storage;
  etcd.observe((operation, type, seconds) => {
    metrics.etcdRequestDuration.observe({ operation, type }, seconds);
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

  const authorizer = authorizerFor(options.authorizationMode, { registry });
  authorization.authorizer = authorizer;

  registerStorageObjects(promRegistry, () => [...registry.caches].map(([prefix, cache]) => [prefix.slice(options.etcdPrefix.length + 1, -1), cache.objectCount] as const));

  const advertiseAddress = options.advertiseAddress ?? defaultAdvertiseAddress(options.securePort !== 0 ? options.bindAddress : options.insecureBindAddress);
  let bootstrapped = false;
  const aggregator = new Aggregator({ registry, logger: logger.child({ component: "aggregator" }), ...(proxyClient ? { proxyClient } : {}) });
  const extensionAuthentication = new ExtensionAuthenticationPublisher({
    configMaps: () => registry.core("configmaps"),
    info: { ...(clientCa !== undefined ? { clientCaPem: clientCa } : {}), ...(requestHeader ? { requestHeader } : {}) },
    onError: (err) => { logger.warn({ err: String(err) }, "writing kube-system/extension-apiserver-authentication failed"); },
  });
  const customResources = new CustomResources({
    registry,
    storage,
    prefix: options.etcdPrefix,
    createCache: (prefix) => createWatchCache(storage, prefix, { capacity: options.watchCacheSize, logger }),
    logger: logger.child({ component: "apiextensions" }),
  });
  // kubectl explain and client-side validation see each established CRD version's schema.
  setOpenApiSchemaProvider({ generation: () => customResources.generation, schemas: () => customResources.openApiSchemas() });
  const storeFor = (group: string, version: string, resource: string): ReturnType<Registry["store"]> => registry.store(group, version, resource);
  const serviceAccountAuthenticator: TokenAuthenticator = async (token) => {
    const review = await reviewToken(token, [], await serviceAccountTokens(), storeFor);
    return review.authenticated ? { user: userOf(review.claims) } : { error: review.error };
  };
  const authenticators: RequestAuthenticator[] = [
    ...(requestHeader ? [requestHeaderAuthenticator(requestHeader)] : []),
    ...(clientCa !== undefined ? [clientCertificateAuthenticator(clientCa)] : []),
    bearerTokenAuthenticator([...(tokenFile ? [staticTokenAuthenticator(tokenFile.users)] : []), serviceAccountAuthenticator]),
  ];
  const auth = new RequestAuth({
    authenticators,
    anonymous,
    authorizer,
    insecureUser: async (req) => requestUser(req.headers.authorization, await serviceAccountTokens(), storeFor),
    logger,
  });
  const kubeletTls = kubeletClientTls(options);
  const servedPort = options.securePort !== 0 ? options.securePort : options.insecurePort;
  const deps: ApiServerDeps = {
    auth,
    aggregator,
    customResources,
    registry,
    storage,
    metrics,
    promRegistry,
    logger,
    serverAddress: `${advertiseAddress}:${servedPort}`,
    bootstrapped: () => bootstrapped,
    ...(worker ? { workers: worker } : {}),
  };
  // The request handlers (server.ts, the kubelet proxy and what only they import) load once ready, or at the first
  // request other than a health check (http/front.ts): the start does not wait for code it does not run.
  const deferred = deferredApiHandlers(deps, async () => {
    const [{ createApiHandlers }, { createKubeletProxy }] = await Promise.all([import("./server.js"), import("./kubelet-proxy.js")]);
    return createApiHandlers({ ...deps, kubeletProxy: createKubeletProxy({ getNode: (name) => registry.core("nodes").get(undefined, name), ...kubeletTls }) });
  });
  const handlers = deferred.handlers;
  const servers: Server[] = [];
  let insecure: { server: Server; port: number; url: string } | undefined;
  let secure: { server: Server; port: number; url: string } | undefined;
  try {
    if (options.securePort !== 0) {
      const serving = await servingCertificate({
        tlsCertFile: options.tlsCertFile,
        tlsPrivateKeyFile: options.tlsPrivateKeyFile,
        certDir: options.certDir,
        ipAddresses: [advertiseAddress, clusterIPs.firstIP],
      });
      if (serving.generated) logger.info({ certificate: serving.source }, "Generated self-signed cert");
      // A client certificate is asked for, never required: an unverified one is refused by authentication (401).
      // TLS trusts both client CAs; each authenticator checks its own (auth/authenticate.ts).
      const clientCas = [clientCa, requestHeader?.clientCaPem].filter((ca) => ca !== undefined);
      const server = serveOn(createHttpsServer({ cert: serving.certPem, key: serving.keyPem, ...(clientCas.length > 0 ? { ca: clientCas, requestCert: true } : {}), rejectUnauthorized: false }), handlers);
      servers.push(server);
      const port = await listen(server, options.securePort, options.bindAddress);
      secure = { server, port, url: `https://${loopbackOr(options.bindAddress)}:${port}` };
      logger.info({ address: options.bindAddress, port, certificate: serving.source, authorizationMode: options.authorizationMode, etcd: options.etcdServers }, "Serving securely");
    }
    if (options.insecurePort !== 0) {
      const server = serveOn(createServer(), handlers);
      servers.push(server);
      const port = await listen(server, options.insecurePort, options.insecureBindAddress);
      insecure = { server, port, url: `http://${loopbackOr(options.insecureBindAddress)}:${port}` };
      logger.warn({ address: options.insecureBindAddress, port, etcd: options.etcdServers }, "Serving insecurely on HTTP: no authentication, no authorization, every request is system:unsecured in system:masters (the insecure port was removed in Kubernetes 1.20; use --secure-port)");
    }
  } catch (err) {
    for (const s of servers) s.close();
    await storage.close();
    throw err;
  }
  const main = insecure ?? secure;
  if (!main) throw new Error("nothing to serve");
  const server = main.server;
  const port = main.port;

  const bootstrap = new BootstrapController({
    registry,
    logger,
    kubernetesServiceIP: clusterIPs.firstIP,
    advertiseAddress,
    port: secure?.port ?? port,
    leases: { storage, prefix: options.etcdPrefix },
  });
  let stopped = false;
  const ready = (async () => {
    // Caches list etcd and retry by themselves; the bootstrap objects need a reachable etcd, so keep trying.
    for (let delay = 100; !stopped; delay = Math.min(delay * 2, 5000)) {
      try {
        // The caches that grow with the workload (10k pods take most of the start-up) sync beside the post-start
        // steps, which never read them, as Kubernetes runs its post-start hooks beside the cachers' initial lists;
        // the other caches (namespaces, services, RBAC, ... that admission and the steps read) sync first.
        const caches = [...registry.caches];
        const isWorkload = ([prefix]: readonly [string, unknown]): boolean => WORKLOAD_CACHE_RESOURCES.some((r) => prefix === `${options.etcdPrefix}/${r}/`);
        const workloadSynced = Promise.all(caches.filter(isWorkload).map(([, c]) => c.waitForRevision(0, 5000)));
        // Awaited with the steps below; a failure before then is not an unhandled rejection.
        void workloadSynced.catch(() => undefined);
        await Promise.all(caches.filter((c) => !isWorkload(c)).map(([, c]) => c.waitForRevision(0, 5000)));
        // The post-start steps touch different objects, so they run side by side (each is a chain of etcd round
        // trips); ready still waits for all of them. bootstrap.start() reconciles before it returns. The allocator
        // repair follows the bootstrap objects, which hold the kubernetes Service's cluster IP. All settle before a
        // retry, so that no step runs twice at once.
        await allSettledOrThrow([
          workloadSynced,
          // kube-system exists once bootstrap.start() returns.
          bootstrap.start().then(() => Promise.all([
            repairAllocators(registry, clusterIPs, nodePorts, logger),
            extensionAuthentication.start(),
            reconcileNamespacePolicy(rbacStore(registry, "roles"), rbacStore(registry, "rolebindings")),
          ])),
          aggregator.start(),
          customResources.start(),
          reconcileBootstrapPolicy(rbacStore(registry, "clusterroles"), rbacStore(registry, "clusterrolebindings")),
        ]);
        bootstrapped = true;
        logger.info("apiserver is ready");
        void deferred.load();
        worker?.reportReady();
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
    url: main.url,
    ...(secure ? { secure } : {}),
    ready,
    async stop() {
      stopped = true;
      bootstrap.stop();
      aggregator.stop();
      extensionAuthentication.stop();
      customResources.stop();
      registry.stop();
      await Promise.all(servers.map((s) => {
        s.closeAllConnections();
        return new Promise<void>((resolve) => s.close(() => { resolve(); }));
      }));
      await storage.close();
    },
  };
}

function listen(server: Server, port: number, address: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function loopbackOr(address: string): string {
  if (address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "[::1]";
  return address.includes(":") ? `[${address}]` : address;
}

function rbacStore(registry: Registry, resource: string): ResourceStore {
  const store = registry.storeOf("rbac.authorization.k8s.io", resource);
  if (!store) throw new Error(`no store for ${resource}.rbac.authorization.k8s.io`);
  return store;
}

/** Resources whose watch caches grow with the workload and which no post-start step reads (see `ready`). */
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
export function defaultAdvertiseAddress(bindAddress: string): string {
  if (bindAddress !== "0.0.0.0" && bindAddress !== "::" && !bindAddress.startsWith("127.") && bindAddress !== "::1") return bindAddress;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
