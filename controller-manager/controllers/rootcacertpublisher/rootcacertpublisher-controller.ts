// The root CA certificate publisher (Kubernetes' pkg/controller/certificates/rootcacertpublisher): every namespace
// has a `kube-root-ca.crt` ConfigMap whose `ca.crt` is the CA bundle pods use to verify the apiserver, from
// --root-ca-file (the secure lab passes its cluster CA). Without --root-ca-file (the plain-HTTP lab, which has no
// CA) the ConfigMap is published with an empty `ca.crt`: it exists, as pods and tools expect, but verifies nothing.
//
// Contract:
//   - Keys are namespace names; a terminating namespace gets nothing.
//   - A missing ConfigMap is created; one whose ca.crt (or description annotation) differs is updated with the
//     cached resourceVersion (a conflict is retried); other keys a user added stay. A deleted one comes back.
import { isAlreadyExists, isNotFound, isStatusError } from "../../../api/errors.js";
import { findResource } from "../../../api/resources.js";
import type { ConfigMap, Namespace } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import { isTerminating, NAMESPACES } from "../serviceaccount/serviceaccount-controller.js";
import type { Controller, ControllerFactory } from "../types.js";
import { readFile } from "node:fs/promises";

export const NAME = "root-ca-cert-publisher";
export const CONFIG_MAPS = findResource("", "v1", "configmaps")!;
export const ROOT_CA_CONFIG_MAP = "kube-root-ca.crt";
export const DESCRIPTION_ANNOTATION = "kubernetes.io/description";
export const DESCRIPTION = "The CA bundle that verifies the kube-apiserver at its in-cluster addresses (the kubernetes Service IP, kubernetes.default.svc).";

export type RootCAClient = Pick<RestClient, "create" | "update">;

export interface RootCACertPublisherOptions {
  client: RootCAClient;
  namespaces: Informer<Namespace>;
  /** ConfigMaps; only those named kube-root-ca.crt matter. */
  configMaps: Informer<ConfigMap>;
  /** The PEM bundle to publish (read once, before the workers start). */
  rootCA: () => Promise<string>;
  workers?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

export class RootCACertPublisher implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly client: RootCAClient;
  private readonly namespaces: Informer<Namespace>;
  private readonly configMaps: Informer<ConfigMap>;
  private readonly readRootCA: () => Promise<string>;
  private readonly workers: number;
  private readonly logger: Logger;
  private rootCA: string | undefined;

  constructor(opts: RootCACertPublisherOptions) {
    this.client = opts.client;
    this.namespaces = opts.namespaces;
    this.configMaps = opts.configMaps;
    this.readRootCA = opts.rootCA;
    this.workers = opts.workers ?? 1;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: opts.clock ?? realClock, metrics: opts.metrics });
    this.namespaces.addEventHandler({
      onAdd: (ns) => { this.queue.add(ns.metadata.name ?? ""); },
      onUpdate: (_old, ns) => { this.queue.add(ns.metadata.name ?? ""); },
    });
    const ours = (cm: Readonly<ConfigMap>): void => {
      if (cm.metadata.name === ROOT_CA_CONFIG_MAP) this.queue.add(cm.metadata.namespace ?? "");
    };
    this.configMaps.addEventHandler({
      onUpdate: (_old, cm) => { ours(cm); },
      onDelete: (obj) => { ours(unwrapTombstone(obj)); },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.rootCA = await this.readRootCA();
    if (this.rootCA === "") this.logger.warn("No --root-ca-file: publishing kube-root-ca.crt with an empty ca.crt (a plain-HTTP cluster has no CA)");
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), informers: [this.namespaces, this.configMaps], logger: this.logger, signal });
  }

  async sync(namespace: string): Promise<void> {
    this.rootCA ??= await this.readRootCA();
    const ns = this.namespaces.lister.get(namespace);
    if (!ns || isTerminating(ns)) return;
    const current = this.configMaps.lister.getByName(namespace, ROOT_CA_CONFIG_MAP);
    try {
      if (!current) {
        await this.client.create(CONFIG_MAPS, namespace, rootCAConfigMap(namespace, this.rootCA));
        return;
      }
      if (current.data?.["ca.crt"] === this.rootCA && current.metadata.annotations?.[DESCRIPTION_ANNOTATION] === DESCRIPTION) return;
      const next = structuredClone(current) as ConfigMap;
      next.data = { ...next.data, "ca.crt": this.rootCA };
      next.metadata.annotations = { ...next.metadata.annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION };
      await this.client.update(CONFIG_MAPS, namespace, next);
    } catch (err) {
      if (isAlreadyExists(err) || isNotFound(err) || (isStatusError(err) && err.code === 403)) return;
      throw err;
    }
  }
}

export function rootCAConfigMap(namespace: string, rootCA: string): ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: ROOT_CA_CONFIG_MAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
    data: { "ca.crt": rootCA },
  };
}

export const createRootCACertPublisher: ControllerFactory = (ctx) =>
  new RootCACertPublisher({
    client: ctx.client,
    namespaces: ctx.informers.forResource<Namespace>(NAMESPACES),
    configMaps: ctx.informers.forResource<ConfigMap>(CONFIG_MAPS, { fieldSelector: `metadata.name=${ROOT_CA_CONFIG_MAP}` }),
    rootCA: () => (ctx.config.rootCaFile ? readFile(ctx.config.rootCaFile, "utf8") : Promise.resolve("")),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });
