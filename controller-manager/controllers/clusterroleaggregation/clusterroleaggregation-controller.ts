// The ClusterRole aggregation controller (Kubernetes' pkg/controller/clusterroleaggregation): a ClusterRole with
// an aggregationRule gets as rules the union of the rules of every ClusterRole its selectors match, so `admin`,
// `edit` and `view` grow when a CRD's installer labels a role rbac.authorization.k8s.io/aggregate-to-edit.
//
// Contract:
//   - Any ClusterRole change enqueues every aggregated ClusterRole (a label change can add or remove a source).
//   - Sources are taken in name order, an aggregated role never counts itself, and a rule already present is not
//     repeated; the result replaces `rules` only when it differs, with the cached resourceVersion (a conflict is
//     retried against the newer role).
import { isNotFound } from "../../../api/errors.js";
import { selectorFromLabelSelector } from "../../../api/labels.js";
import { findResource } from "../../../api/resources.js";
import type { ClusterRole, PolicyRule } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "clusterrole-aggregation";
export const CLUSTER_ROLES = findResource("rbac.authorization.k8s.io", "v1", "clusterroles")!;

export type ClusterRoleAggregationClient = Pick<RestClient, "update">;

export interface ClusterRoleAggregationOptions {
  client: ClusterRoleAggregationClient;
  clusterRoles: Informer<ClusterRole>;
  workers?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

export class ClusterRoleAggregationController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly client: ClusterRoleAggregationClient;
  private readonly clusterRoles: Informer<ClusterRole>;
  private readonly workers: number;
  private readonly logger: Logger;

  constructor(opts: ClusterRoleAggregationOptions) {
    this.client = opts.client;
    this.clusterRoles = opts.clusterRoles;
    this.workers = opts.workers ?? 1;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: opts.clock ?? realClock, metrics: opts.metrics });
    const enqueueAggregated = (): void => {
      for (const role of this.clusterRoles.lister.list()) if (role.aggregationRule) this.queue.add(role.metadata.name ?? "");
    };
    this.clusterRoles.addEventHandler({ onAdd: enqueueAggregated, onUpdate: enqueueAggregated, onDelete: enqueueAggregated });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), informers: [this.clusterRoles], logger: this.logger, signal });
  }

  async sync(name: string): Promise<void> {
    const role = this.clusterRoles.lister.get(name);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, this.clusterRoles.lister.list());
    if (JSON.stringify(rules) === JSON.stringify(role.rules ?? [])) return;
    const next = structuredClone(role) as ClusterRole;
    next.rules = rules;
    try {
      await this.client.update(CLUSTER_ROLES, undefined, next);
      this.logger.info({ clusterRole: name, rules: rules.length }, "Aggregated cluster role rules");
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** The union, in source-name order without repeats, of the rules of the roles `role`'s selectors match. */
export function aggregatedRules(role: Readonly<ClusterRole>, all: readonly Readonly<ClusterRole>[]): PolicyRule[] {
  const selectors = (role.aggregationRule?.clusterRoleSelectors ?? []).map((s) => selectorFromLabelSelector(s));
  const sources = all
    .filter((other) => other.metadata.name !== role.metadata.name)
    .filter((other) => selectors.some((s) => s.matches(other.metadata.labels ?? {})))
    .sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1));
  const rules: PolicyRule[] = [];
  const seen = new Set<string>();
  for (const source of sources) {
    for (const rule of source.rules ?? []) {
      const key = JSON.stringify(rule);
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push(structuredClone<PolicyRule>(rule));
    }
  }
  return rules;
}

export const createClusterRoleAggregationController: ControllerFactory = (ctx) =>
  new ClusterRoleAggregationController({
    client: ctx.client,
    clusterRoles: ctx.informers.forResource<ClusterRole>(CLUSTER_ROLES),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });
