// --use-service-account-credentials: each controller talks to the apiserver as its own service account,
// kube-system/<name>, whose rights are the bootstrap ClusterRole system:controller:<name> (Kubernetes'
// DynamicControllerClientBuilder). The controller-manager's own identity only makes sure the account exists and
// asks for its tokens (TokenRequest); informers stay shared on that identity's client, as in Kubernetes.
import { isNotFound, isAlreadyExists } from "../api/errors.js";
import { findResource, type ResourceInfo } from "../api/resources.js";
import type { ServiceAccount, TokenRequest } from "../api/types/index.js";
import { RestClient, restClientMetrics, type TokenSource } from "../client/rest.js";
import type { ClientConfig } from "../client/kubeconfig.js";
import type { Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";

const SERVICE_ACCOUNTS: ResourceInfo = findResource("", "v1", "serviceaccounts") ?? missing("serviceaccounts");

function missing(resource: string): never {
  throw new Error(`${resource} is not a known resource`);
}

/** The namespace of the controllers' service accounts. */
export const CONTROLLER_NAMESPACE = "kube-system";

/**
 * The service account each --controllers name runs as (Kubernetes' names, which also name the bootstrap roles
 * system:controller:<account>). A controller without an entry keeps the controller-manager's own client.
 */
export const CONTROLLER_SERVICE_ACCOUNTS: Readonly<Record<string, string>> = {
  replicationcontroller: "replication-controller",
  replicaset: "replicaset-controller",
  deployment: "deployment-controller",
  endpoints: "endpoint-controller",
  endpointslice: "endpointslice-controller",
  endpointslicemirroring: "endpointslicemirroring-controller",
  nodelifecycle: "node-controller",
  garbagecollector: "generic-garbage-collector",
  namespace: "namespace-controller",
  nodeipam: "node-controller",
  disruption: "disruption-controller",
  serviceaccount: "service-account-controller",
  "root-ca-cert-publisher": "root-ca-cert-publisher",
  "clusterrole-aggregation": "clusterrole-aggregation-controller",
  job: "job-controller",
  cronjob: "cronjob-controller",
  "ttl-after-finished": "ttl-after-finished-controller",
  daemonset: "daemon-set-controller",
  statefulset: "statefulset-controller",
  horizontalpodautoscaling: "horizontal-pod-autoscaler",
  csrsigning: "certificate-controller",
  resourcequota: "resourcequota-controller",
  "persistentvolume-binder": "persistent-volume-binder",
};

/** Kubernetes' defaults: tokens live an hour and are renewed when a fifth of that is left. */
export const TOKEN_EXPIRATION_SECONDS = 3600;
export const TOKEN_LEEWAY_PERCENT = 20;

export type ServiceAccountClient = Pick<RestClient, "get" | "create" | "raw">;

/**
 * A service account's token from the TokenRequest API, made with the controller-manager's own client: the cached
 * token while more than the leeway of its lifetime is left, else a new one (creating the account first if it is
 * missing). Concurrent callers share one request.
 */
export class ServiceAccountTokenSource implements TokenSource {
  private cached: { token: string; expiresAt: number; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly client: ServiceAccountClient,
    readonly namespace: string,
    readonly name: string,
    private readonly clock: Pick<Clock, "now">,
    private readonly expirationSeconds = TOKEN_EXPIRATION_SECONDS,
  ) {}

  token(signal?: AbortSignal): Promise<string> {
    const cached = this.cached;
    if (cached && this.clock.now() < cached.refreshAt) return Promise.resolve(cached.token);
    this.pending ??= this.fetch(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(signal: AbortSignal | undefined): Promise<string> {
    await this.ensureServiceAccount(signal);
    const requested = this.clock.now();
    const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/serviceaccounts/${encodeURIComponent(this.name)}/token`;
    const body: TokenRequest = { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: {}, spec: { expirationSeconds: this.expirationSeconds } };
    const reply = await this.client.raw("POST", path, body, signal ? { signal } : {});
    const status = (reply.body as TokenRequest).status;
    const token = status?.token;
    if (!token) throw new Error(`the TokenRequest for serviceaccount ${this.namespace}/${this.name} returned no token`);
    const parsed = Date.parse(status.expirationTimestamp ?? "");
    const expiresAt = Number.isFinite(parsed) ? parsed : requested + this.expirationSeconds * 1000;
    const lifetime = Math.max(0, expiresAt - requested);
    this.cached = { token, expiresAt, refreshAt: expiresAt - (lifetime * TOKEN_LEEWAY_PERCENT) / 100 };
    return token;
  }

  private async ensureServiceAccount(signal: AbortSignal | undefined): Promise<void> {
    const opts = signal ? { signal } : {};
    try {
      await this.client.get(SERVICE_ACCOUNTS, this.namespace, this.name, opts);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const account: ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: this.name, namespace: this.namespace } };
    try {
      await this.client.create(SERVICE_ACCOUNTS, this.namespace, account, opts);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

export interface ControllerClientOptions {
  qps: number;
  burst: number;
  maxSockets: number;
  registry: Registry;
  logger: Logger;
  clock: Clock;
}

/**
 * The clients of --use-service-account-credentials, one per service account: the root client's server and CA
 * with none of its credentials (client-go's AnonymousClientConfig) and the account's token instead.
 */
export class ControllerClientBuilder {
  private readonly clients = new Map<string, { client: RestClient; source: ServiceAccountTokenSource }>();

  constructor(
    private readonly root: RestClient,
    private readonly opts: ControllerClientOptions,
  ) {}

  /** The client for a --controllers name, or the root client for a controller without a service account. */
  clientFor(controller: string): RestClient {
    const account = CONTROLLER_SERVICE_ACCOUNTS[controller];
    if (account === undefined) return this.root;
    let entry = this.clients.get(account);
    if (!entry) {
      const source = new ServiceAccountTokenSource(this.root, CONTROLLER_NAMESPACE, account, this.opts.clock);
      const client = new RestClient(anonymousConfig(this.root.config), {
        qps: this.opts.qps,
        burst: this.opts.burst,
        maxSockets: this.opts.maxSockets,
        userAgent: `kube-controller-manager/${account}`,
        metrics: restClientMetrics(this.opts.registry),
        logger: this.opts.logger,
        clock: this.opts.clock,
        tokenSource: source,
      });
      entry = { client, source };
      this.clients.set(account, entry);
    }
    return entry.client;
  }

  /** Gets every account's first token, so a missing right shows in the log at start rather than at first use. */
  async prefetch(signal: AbortSignal): Promise<void> {
    await Promise.all(
      [...this.clients.values()].map(async ({ source }) => {
        try {
          await source.token(signal);
        } catch (err) {
          if (!signal.aborted) this.opts.logger.error({ err, serviceAccount: `${source.namespace}/${source.name}` }, "Cannot get a token for the controller's service account");
        }
      }),
    );
  }

  close(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }
}

function anonymousConfig(config: ClientConfig): ClientConfig {
  return {
    server: config.server,
    namespace: config.namespace,
    ...(config.caData !== undefined ? { caData: config.caData } : {}),
    ...(config.insecureSkipTLSVerify ? { insecureSkipTLSVerify: true } : {}),
  };
}
