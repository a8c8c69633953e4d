// The node IPAM controller with Kubernetes' RangeAllocator (pkg/controller/nodeipam/ipam/range_allocator.go): with
// --allocate-node-cidrs, every Node gets a /--node-cidr-mask-size block of --cluster-cidr as spec.podCIDR(s),
// from which its kubelet gives pods their IPs.
//
// Contract:
//   - A block is never given twice: the used set is rebuilt from every Node's podCIDR before the first allocation
//     (the initial list is replayed to our handlers before workers start), and a block handed out is reserved for
//     its node until the cache shows the node carrying it, so a lagging cache cannot cause a second allocation.
//   - The write is a merge patch of spec.podCIDR and spec.podCIDRs carrying the cached resourceVersion; it is
//     retried with the same block. A node that got a podCIDR some other way keeps it and our reservation is freed.
//   - A deleted node's block is released (and not handed out again until the others were: round-robin).
//   - No block left: event CIDRNotAvailable on the node ("Node <n> status is now: CIDRNotAvailable") and a retry
//     with backoff, so a node deleted elsewhere frees a block for it.
//   - Without --allocate-node-cidrs the controller does nothing (Kubernetes does not start it).
import { errorMessage, isNotFound } from "../../../api/errors.js";
import { findResource } from "../../../api/resources.js";
import type { Node } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { EventRecorder } from "../../../client/event-recorder.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, whenAborted, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import type { Controller, ControllerFactory } from "../types.js";
import { CidrSet } from "./cidr-set.js";

export const NAME = "nodeipam";
/** source.component of its events, as Kubernetes' range allocator. */
export const COMPONENT = "cidrAllocator";
export const NODES = findResource("", "v1", "nodes")!;

export type NodeIpamClient = Pick<RestClient, "patch">;

export interface NodeIpamControllerOptions {
  client: NodeIpamClient;
  nodes: Informer<Node>;
  recorder: EventRecorder;
  /** --cluster-cidr, e.g. 10.244.0.0/16. */
  clusterCidr: string;
  /** --node-cidr-mask-size, e.g. 24. */
  nodeCidrMaskSize: number;
  /** Parallel patches; default 4. */
  workers?: number;
  clock?: Clock;
  logger?: Logger;
  /** Where the queue's workqueue_* metrics go. */
  metrics?: Registry;
}

/** Every block is in use: the node waits (retried with backoff) until one is released. */
export class CidrExhaustedError extends Error {
  constructor(readonly node: string, readonly clusterCidr: string) {
    super(`no CIDR left in ${clusterCidr} for node ${node}`);
    this.name = "CidrExhaustedError";
  }
}

export class NodeIpamController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  readonly cidrs: CidrSet;
  private readonly client: NodeIpamClient;
  private readonly nodes: Informer<Node>;
  private readonly recorder: EventRecorder;
  private readonly workers: number;
  private readonly logger: Logger;
  private readonly clusterCidr: string;
  /** node → the block it holds or was given (released when the node goes). */
  private readonly assigned = new Map<string, string>();
  /** node → the block reserved for it that the cache does not show on it yet, and whether our patch succeeded. */
  private readonly pending = new Map<string, { cidr: string; written: boolean }>();

  constructor(opts: NodeIpamControllerOptions) {
    this.workers = opts.workers ?? 4;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`nodeipam controller: workers must be a positive integer, got ${this.workers}`);
    this.cidrs = new CidrSet(opts.clusterCidr, opts.nodeCidrMaskSize);
    this.clusterCidr = opts.clusterCidr;
    this.client = opts.client;
    this.nodes = opts.nodes;
    this.recorder = opts.recorder;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: opts.clock ?? realClock, metrics: opts.metrics });
    this.nodes.addEventHandler({
      onAdd: (node) => { this.observe(node); },
      onUpdate: (_old, node) => { this.observe(node); },
      onDelete: (obj) => {
        const node = unwrapTombstone(obj);
        const name = node.metadata.name ?? "";
        const cidr = this.pending.get(name)?.cidr ?? this.assigned.get(name) ?? node.spec?.podCIDR;
        this.pending.delete(name);
        this.assigned.delete(name);
        if (cidr && ![...this.assigned.values()].includes(cidr)) {
          this.cidrs.release(cidr);
          this.logger.info({ node: name, cidr }, "Released node CIDR");
        }
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: (key) => this.sync(key),
      informers: [this.nodes],
      logger: this.logger,
      signal,
      onStart: () => {
        this.logger.info({ clusterCidr: this.clusterCidr, nodeCidrMaskSize: this.cidrs.maskSize, free: this.cidrs.free }, "Starting node IPAM controller");
      },
      logFailure: (key, err) => {
        this.logger.warn({ node: key, err: errorMessage(err) }, "Node CIDR allocation failed; retrying");
      },
    });
  }

  async sync(name: string): Promise<void> {
    const node = this.nodes.lister.get(name);
    if (!node) return;
    if (node.spec?.podCIDR) {
      this.adopt(node);
      return;
    }
    let reservation = this.pending.get(name);
    if (reservation?.written) return; // patched; the cache will show it (observe() adopts it then)
    if (!reservation) {
      const allocated = this.cidrs.allocateNext();
      if (!allocated) {
        this.recorder.event(node, "Normal", "CIDRNotAvailable", `Node ${name} status is now: CIDRNotAvailable`);
        throw new CidrExhaustedError(name, this.clusterCidr);
      }
      reservation = { cidr: allocated, written: false };
      this.pending.set(name, reservation);
      this.assigned.set(name, allocated);
    }
    const cidr = reservation.cidr;
    try {
      await this.client.patch(NODES, undefined, name, "merge", { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { podCIDR: cidr, podCIDRs: [cidr] } });
      reservation.written = true;
      this.logger.info({ node: name, cidr }, "Allocated node CIDR");
    } catch (err) {
      if (isNotFound(err)) {
        this.pending.delete(name);
        this.assigned.delete(name);
        this.cidrs.release(cidr);
        return;
      }
      throw err; // keep the reservation: the retry patches the same block
    }
  }

  /** A node carries a podCIDR: count it as used, and free a reservation we made for it that it did not take. */
  private adopt(node: Readonly<Node>): void {
    const name = node.metadata.name ?? "";
    const cidr = node.spec?.podCIDR ?? "";
    const reserved = this.pending.get(name)?.cidr;
    this.pending.delete(name);
    if (reserved && reserved !== cidr) this.cidrs.release(reserved);
    this.assigned.set(name, cidr);
    if (!this.cidrs.occupy(cidr)) this.logger.warn({ node: name, cidr, clusterCidr: this.clusterCidr }, "Node podCIDR is outside the cluster CIDR");
  }

  private observe(node: Readonly<Node>): void {
    if (node.spec?.podCIDR) this.adopt(node);
    else this.queue.add(node.metadata.name ?? "");
  }
}

/** Without --allocate-node-cidrs: nothing to do until stopped. */
class DisabledController implements Controller {
  readonly name = NAME;
  constructor(private readonly logger: Logger) {}

  async run(signal: AbortSignal): Promise<void> {
    this.logger.info("Node IPAM disabled (--allocate-node-cidrs=false)");
    await whenAborted(signal);
  }
}

export const createNodeIpamController: ControllerFactory = (ctx) => {
  const logger = ctx.logger.child({ controller: NAME });
  if (!ctx.config.allocateNodeCidrs) return new DisabledController(logger);
  return new NodeIpamController({
    client: ctx.client,
    nodes: ctx.informers.forResource<Node>(NODES),
    recorder: ctx.recorder(COMPONENT),
    clusterCidr: ctx.config.clusterCidr,
    nodeCidrMaskSize: ctx.config.nodeCidrMaskSize,
    clock: ctx.clock,
    logger,
    metrics: ctx.metrics,
  });
};

/** The name registry.ts imports (the --controllers name is "nodeipam"). */
export const createNodeipamController: ControllerFactory = createNodeIpamController;
