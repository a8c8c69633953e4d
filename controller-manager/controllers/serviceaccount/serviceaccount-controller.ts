// The ServiceAccounts controller (Kubernetes' pkg/controller/serviceaccount): every namespace has a `default`
// ServiceAccount, created when the namespace appears and again whenever someone deletes it.
//
// Contract:
//   - Keys are namespace names. A namespace being deleted (deletionTimestamp, or phase Terminating) gets nothing.
//   - The account is created only when the cache does not hold it; AlreadyExists (a lagging cache) is success, and
//     a namespace deleted meanwhile (NotFound, Forbidden while terminating) is nothing to do.
//   - An account that exists is never changed: its tokens, pull secrets and automount setting are the user's.
import { isAlreadyExists, isNotFound, isStatusError } from "../../../api/errors.js";
import { findResource } from "../../../api/resources.js";
import type { Namespace, ServiceAccount } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "serviceaccount";
export const NAMESPACES = findResource("", "v1", "namespaces")!;
export const SERVICE_ACCOUNTS = findResource("", "v1", "serviceaccounts")!;
/** The accounts every namespace gets (Kubernetes' ServiceAccountsControllerOptions default). */
export const DEFAULT_SERVICE_ACCOUNTS: readonly string[] = ["default"];

export type ServiceAccountClient = Pick<RestClient, "create">;

export interface ServiceAccountsControllerOptions {
  client: ServiceAccountClient;
  namespaces: Informer<Namespace>;
  serviceAccounts: Informer<ServiceAccount>;
  workers?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

/** True for a namespace that is going away: nothing new may be created in it. */
export function isTerminating(ns: Readonly<Namespace>): boolean {
  return ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === "Terminating";
}

export class ServiceAccountsController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly client: ServiceAccountClient;
  private readonly namespaces: Informer<Namespace>;
  private readonly serviceAccounts: Informer<ServiceAccount>;
  private readonly workers: number;
  private readonly logger: Logger;

  constructor(opts: ServiceAccountsControllerOptions) {
    this.client = opts.client;
    this.namespaces = opts.namespaces;
    this.serviceAccounts = opts.serviceAccounts;
    this.workers = opts.workers ?? 1;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: opts.clock ?? realClock, metrics: opts.metrics });
    this.namespaces.addEventHandler({
      onAdd: (ns) => { this.queue.add(ns.metadata.name ?? ""); },
      onUpdate: (_old, ns) => { this.queue.add(ns.metadata.name ?? ""); },
    });
    this.serviceAccounts.addEventHandler({
      onDelete: (obj) => {
        const sa = unwrapTombstone(obj);
        if (DEFAULT_SERVICE_ACCOUNTS.includes(sa.metadata.name ?? "")) this.queue.add(sa.metadata.namespace ?? "");
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), informers: [this.namespaces, this.serviceAccounts], logger: this.logger, signal });
  }

  async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.lister.get(namespace);
    if (!ns || isTerminating(ns)) return;
    for (const name of DEFAULT_SERVICE_ACCOUNTS) {
      if (this.serviceAccounts.lister.getByName(namespace, name)) continue;
      try {
        await this.client.create(SERVICE_ACCOUNTS, namespace, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } });
        this.logger.info({ namespace, serviceAccount: name }, "Created service account");
      } catch (err) {
        if (isAlreadyExists(err) || isNotFound(err) || (isStatusError(err) && err.code === 403)) continue;
        throw err;
      }
    }
  }
}

export const createServiceAccountsController: ControllerFactory = (ctx) =>
  new ServiceAccountsController({
    client: ctx.client,
    namespaces: ctx.informers.forResource<Namespace>(NAMESPACES),
    serviceAccounts: ctx.informers.forResource<ServiceAccount>(SERVICE_ACCOUNTS),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });
