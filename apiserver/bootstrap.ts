// What a fresh cluster has before anyone creates anything: the system namespaces, the system PriorityClasses and
// the `kubernetes` Service with Endpoints and an EndpointSlice pointing at the apiservers. Reconciled at start,
// periodically, and at once
// when someone deletes them.
//
// Several apiservers share one etcd (the HA setup): with `leases`, each one keeps Kubernetes' lease endpoint
// reconciler's record, a key under <prefix>/masterleases/<its address>/ bound to an etcd lease of `ttlSeconds`
// (15 s), written afresh at every reconcile (every 10 s) and left to expire; the Endpoints list every address
// with a live key, so both apiservers stay listed, and a dead one leaves within ttl + interval. A new key per
// renewal (the old one expires on its own) means an address is never absent between two renewals.
import { isAlreadyExists, isNotFound, StatusError } from "../api/errors.js";
import type { KubeObject } from "../api/meta.js";
import type { Logger } from "../component-base/logging.js";
import type { CacheWatcher, ListPage, Storage } from "./storage/interfaces.js";
import type { Registry } from "./registry/registry.js";
import { ensureSystemPriorityClasses } from "./registry/scheduling/scheduling.js";
import type { ResourceStore } from "./registry/store.js";

export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"] as const;

export interface BootstrapOptions {
  registry: Registry;
  logger: Logger;
  /** The first IP of the service range (10.96.0.1 for 10.96.0.0/12). */
  kubernetesServiceIP: string;
  /** The address and port other components and pods reach this apiserver on. */
  advertiseAddress: string;
  port: number;
  /** How often to reconcile even without a deletion (Kubernetes: 10 s). */
  intervalMs?: number;
  /** The lease endpoint reconciler's storage; without it the Endpoints list this apiserver alone. */
  leases?: { storage: Storage; prefix: string; ttlSeconds?: number };
}

/** How long a master lease outlives its apiserver's last renewal (Kubernetes' lease endpoint reconciler: 15 s). */
export const MASTER_LEASE_TTL_SECONDS = 15;

export class BootstrapController {
  private readonly options: BootstrapOptions;
  private timer: NodeJS.Timeout | undefined;
  private watchers: CacheWatcher[] = [];
  private running = false;
  private again = false;
  private warnedInvalidEndpoints = false;

  constructor(options: BootstrapOptions) {
    this.options = options;
  }

  /** Reconciles once (so the cluster is complete when the server reports ready) and keeps doing so. */
  async start(): Promise<void> {
    await this.reconcile();
    // Idempotent: the apiserver retries its whole start-up sequence when etcd fails part-way through.
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.trigger();
    }, this.options.intervalMs ?? 10_000);
    this.timer.unref();
    const { registry } = this.options;
    for (const resource of ["services", "endpoints", "namespaces"]) {
      const store = registry.core(resource);
      const watcher = store.cache.watch(
        { prefix: store.prefixFor(resource === "namespaces" ? undefined : "default") },
        (event) => {
          if (event.type === "DELETED") this.trigger();
        },
        () => undefined,
      );
      this.watchers.push(watcher);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watchers) w.stop();
    this.watchers = [];
  }

  private trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.reconcile()
      .catch((err: unknown) => {
        this.options.logger.warn({ err: String(err) }, "bootstrap reconcile failed; will retry");
      })
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
  }

  async reconcile(): Promise<void> {
    const { registry, kubernetesServiceIP, port } = this.options;
    const namespaces = registry.core("namespaces");
    // Independent objects are ensured side by side (each is a chain of etcd round trips, and the apiserver's
    // readiness waits for all of them); only the objects in "default" wait for that namespace to exist.
    const addresses = this.apiserverAddresses();
    await allSettledOrThrow([
      addresses,
      ensureSystemPriorityClasses((group, version, resource) => registry.store(group, version, resource)),
      ...SYSTEM_NAMESPACES.map((name) =>
        ensure(namespaces, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "kubernetes.io/metadata.name": name } } }),
      ),
    ]);
    const service = ensure(registry.core("services"), "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } },
      spec: { type: "ClusterIP", clusterIP: kubernetesServiceIP, ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port }], sessionAffinity: "None" },
    });
    await allSettledOrThrow([service, this.reconcileEndpoints(await addresses)]);
  }

  /** The kubernetes Endpoints and EndpointSlice: every apiserver address with a live master lease. */
  private async reconcileEndpoints(addresses: readonly string[]): Promise<void> {
    const { registry, advertiseAddress, port } = this.options;
    const endpoints: KubeObject = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "kubernetes", namespace: "default", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
      subsets: [{ addresses: addresses.map((ip) => ({ ip })), ports: [{ name: "https", port, protocol: "TCP" }] }],
    };
    const slices = registry.store("discovery.k8s.io", "v1", "endpointslices");
    try {
      await allSettledOrThrow([
        ensure(registry.core("endpoints"), "default", endpoints, true),
        ...(slices ? [ensure(slices, "default", {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: { name: "kubernetes", namespace: "default", labels: { "kubernetes.io/service-name": "kubernetes" } },
          addressType: "IPv4",
          endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
          ports: [{ name: "https", port, protocol: "TCP" }],
        }, true)] : []),
      ]);
    } catch (err) {
      // An advertise address validation refuses (a loopback one) leaves the Service without endpoints, as in
      // Kubernetes, whose endpoint reconciler only logs; it must not hold up the rest of the apiserver's start.
      if (!(err instanceof StatusError && err.reason === "Invalid")) throw err;
      if (!this.warnedInvalidEndpoints) {
        this.warnedInvalidEndpoints = true;
        this.options.logger.warn({ advertiseAddress, err: err.message }, "cannot publish the kubernetes Service endpoints; set --advertise-address to a non-loopback address");
      }
    }
  }

  /** Renews this apiserver's master lease and returns every address with a live one (sorted; its own included). */
  private async apiserverAddresses(): Promise<string[]> {
    const { leases, advertiseAddress } = this.options;
    if (leases === undefined) return [advertiseAddress];
    const prefix = `${leases.prefix}/masterleases/`;
    const record: KubeObject = { apiVersion: "v1", kind: "Endpoints", metadata: { name: advertiseAddress } };
    // The pid keeps apart the keys of --workers processes (or apiservers) renewing in the same millisecond.
    await leases.storage.create(`${prefix}${advertiseAddress}/${Date.now()}-${process.pid}`, record, { ttlSeconds: leases.ttlSeconds ?? MASTER_LEASE_TTL_SECONDS });
    const live = new Set([advertiseAddress]);
    for (let page: ListPage | undefined; page === undefined || page.continue !== undefined; ) {
      page = await leases.storage.list(prefix, page?.continue === undefined ? {} : { continue: page.continue });
      for (const item of page.items) if (item.metadata.name !== undefined) live.add(item.metadata.name);
    }
    return [...live].sort();
  }
}

/**
 * Waits for every step, then rejects with the first failure, if any: a failed step never leaves others running
 * behind the caller's back (a retry of the whole sequence must not overlap its previous run).
 */
export async function allSettledOrThrow(steps: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(steps);
  for (const result of results) if (result.status === "rejected") throw result.reason;
}

/** Creates the object when missing; with `owned`, also brings its content back to the desired one. */
async function ensure(store: ResourceStore, namespace: string | undefined, desired: KubeObject, owned = false): Promise<void> {
  const name = desired.metadata.name ?? "";
  try {
    const current = await store.get(namespace, name);
    if (!owned) return;
    const { metadata: _m, ...desiredBody } = desired;
    const { metadata: _c, ...currentBody } = current;
    if (JSON.stringify(desiredBody) === JSON.stringify(currentBody)) return;
    await store.update(namespace, name, { ...desired, metadata: { ...current.metadata, labels: desired.metadata.labels ?? {} } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await store.create(namespace, structuredClone(desired));
    } catch (createErr) {
      if (!isAlreadyExists(createErr)) throw createErr;
    }
  }
}
