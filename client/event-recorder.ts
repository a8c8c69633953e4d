// Records core/v1 Events about objects, as client-go's record.EventRecorder + EventCorrelator do:
//   - event() never blocks and never throws: it stamps the event, correlates it and queues the write; a single
//     background worker writes in order; failures are retried a few times, then logged and dropped.
//   - The queue is bounded (default 1000, as client-go's broadcaster): when full, new events are dropped.
//   - A repeat of the same (object, type, reason, message, source) within the aggregation window PATCHes the
//     existing Event's count and lastTimestamp instead of creating another one; repeats that arrive while a write
//     is still queued fold into that write.
//   - Similar events (same object, type and reason, other messages): from the 10th distinct message within the
//     aggregation window on, they become one event "(combined from similar events): <latest message>" whose count
//     grows (client-go's EventAggregator), so a controller creating 1,000 pods does not write 1,000 events.
//   - Spam filter (client-go's EventSourceObjectSpamFilter): at most 25 writes per involved object at once, refilled
//     one per 5 minutes; events past it are not written (their count is still kept for a later write).
//   - Events are named <object name>.<hex of unix nanoseconds> in the object's namespace ("default" for
//     cluster-scoped objects, like Kubernetes).
import { hostname } from "node:os";
import { isAlreadyExists, isNotFound } from "../api/errors.js";
import type { KubeObject } from "../api/meta.js";
import { RESOURCES } from "../api/resources.js";
import { formatTime } from "../api/time.js";
import { realClock, type Clock } from "../component-base/clock.js";
import { silentLogger, type Logger } from "../component-base/logging.js";
import type { RestClient } from "./rest.js";

const EVENTS = RESOURCES.find((r) => r.group === "" && r.resource === "events")!;

export type EventType = "Normal" | "Warning";

/** core/v1 ObjectReference: what an event is about. */
export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  /** Part of the object, e.g. "spec.containers{nginx}". */
  fieldPath?: string;
}

export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: EventType;
  reportingComponent: string;
  reportingInstance: string;
}

export interface EventRecorder {
  /** Records an event about `object` (an API object or a reference to one, with fieldPath). Never throws. */
  event(object: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void;
  /** Resolves when every queued write has been attempted. */
  flush(): Promise<void>;
  /** Stops accepting events and flushes. */
  stop(): Promise<void>;
}

export interface EventRecorderOptions {
  client: Pick<RestClient, "create" | "patch">;
  /** source.component and reportingComponent, e.g. "default-scheduler", "kubelet". */
  component: string;
  /** source.host and reportingInstance (default: this machine's hostname). */
  host?: string;
  clock?: Clock;
  logger?: Logger;
  /** Queued writes beyond this are dropped (default 1000). */
  maxQueue?: number;
  /** Repeats within this window update the existing event (default 10 minutes). */
  aggregationWindowMs?: number;
  /** Distinct events remembered for aggregation (LRU; default 4096, as client-go). */
  cacheSize?: number;
  /** Attempts per write (default 3) and the pause between them (default 1 s). */
  maxAttempts?: number;
  retryDelayMs?: number;
  /** Distinct messages of one (object, type, reason) within the aggregation window before they are combined (default 10). */
  aggregateMaxEvents?: number;
  /** Writes per involved object at once (default 25) and the refill rate per second (default 1/300). */
  spamBurst?: number;
  spamQps?: number;
}

/** client-go's defaults (tools/record/events_cache.go). */
const AGGREGATE_MAX_EVENTS = 10;
const SPAM_BURST = 25;
const SPAM_QPS = 1 / 300;
const COMBINED_PREFIX = "(combined from similar events): ";

interface Entry {
  key: string;
  name: string;
  namespace: string;
  ref: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  lastSeenMs: number;
  /** The Event exists on the server (a later write is a PATCH). */
  created: boolean;
  /** A write for this entry is in the queue (further repeats just bump count). */
  queued: boolean;
}

function referenceOf(object: KubeObject | ObjectReference): ObjectReference {
  if (!("metadata" in object)) return object;
  const ref: ObjectReference = { name: object.metadata.name ?? "" };
  if (object.kind !== undefined) ref.kind = object.kind;
  if (object.metadata.namespace) ref.namespace = object.metadata.namespace;
  if (object.metadata.uid !== undefined) ref.uid = object.metadata.uid;
  if (object.apiVersion !== undefined) ref.apiVersion = object.apiVersion;
  if (object.metadata.resourceVersion !== undefined) ref.resourceVersion = object.metadata.resourceVersion;
  return ref;
}

/**
 * One field of a cache key: "-" for an absent field, else "<length>:<text>". Each part ends where its own text says,
 * so a concatenation of parts is unambiguous — what JSON.stringify of the fields gave, without escaping every
 * character of every event's message. (A combined event's key starts with "combined:", which no part does.)
 */
function keyPart(field: string | null | undefined): string {
  return field === undefined || field === null ? "-" : `${field.length}:${field}`;
}

/** Drops the least recently used entries (the first keys) of an insertion-ordered map beyond `max`. */
function trimLru(map: Map<string, unknown>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}

export function createEventRecorder(opts: EventRecorderOptions): EventRecorder {
  return new QueuedEventRecorder(opts);
}

class QueuedEventRecorder implements EventRecorder {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly host: string;
  private readonly maxQueue: number;
  private readonly windowMs: number;
  private readonly cacheSize: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  /** Insertion-ordered, refreshed on use: the first key is the least recently used. */
  private readonly cache = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  /** Per (object, type, reason): the distinct messages seen and when the last one came (LRU like `cache`). */
  private readonly similar = new Map<string, { messages: Set<string>; lastSeenMs: number }>();
  /** Per involved object: a token bucket of writes (LRU like `cache`). */
  private readonly spam = new Map<string, { tokens: number; atMs: number }>();
  private readonly aggregateMaxEvents: number;
  private readonly spamBurst: number;
  private readonly spamQps: number;
  private working: Promise<void> | undefined;
  private stopped = false;
  private seq = 0;
  private dropped = 0;

  constructor(private readonly opts: EventRecorderOptions) {
    this.clock = opts.clock ?? realClock;
    this.logger = (opts.logger ?? silentLogger()).child({ recorder: opts.component });
    this.host = opts.host ?? hostname();
    this.maxQueue = opts.maxQueue ?? 1000;
    this.windowMs = opts.aggregationWindowMs ?? 10 * 60_000;
    this.cacheSize = opts.cacheSize ?? 4096;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.aggregateMaxEvents = opts.aggregateMaxEvents ?? AGGREGATE_MAX_EVENTS;
    this.spamBurst = opts.spamBurst ?? SPAM_BURST;
    this.spamQps = opts.spamQps ?? SPAM_QPS;
  }

  event(object: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    try {
      this.record(object, type, reason, message);
    } catch (err) {
      this.logger.error({ err, reason }, "Could not record event");
    }
  }

  private record(object: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    if (this.stopped) return;
    if (type !== "Normal" && type !== "Warning") {
      this.logger.error({ type, reason }, "Unsupported event type; dropping event");
      return;
    }
    const ref = referenceOf(object);
    if (!ref.name) {
      this.logger.error({ reason }, "Event object has no name; dropping event");
      return;
    }
    const now = this.clock.now();
    this.logger.debug({ object: ref, type, reason, message }, "Event occurred");
    // Keys are concatenations of self-delimiting parts (keyPart), so equal keys mean equal fields.
    const objectKey = keyPart(ref.kind) + keyPart(ref.namespace) + keyPart(ref.name) + keyPart(ref.uid) + keyPart(ref.apiVersion);
    const similarKey = objectKey + keyPart(type) + keyPart(reason);
    let key = similarKey + keyPart(ref.fieldPath) + keyPart(message);
    // Aggregation comes first, then the repeat count, then the spam filter (client-go's EventCorrelate order).
    if (this.isOneTooMany(similarKey, message, now)) {
      key = `combined:${similarKey}`;
      message = COMBINED_PREFIX + message;
    }
    const write = this.spamAllows(objectKey, now);
    const existing = this.cache.get(key);
    if (existing && now - existing.lastSeenMs <= this.windowMs) {
      existing.count++;
      existing.lastTimestamp = formatTime(now);
      existing.lastSeenMs = now;
      existing.ref = ref; // the newest resourceVersion
      existing.message = message; // a combined event shows the latest message
      this.cache.delete(key);
      this.cache.set(key, existing);
      if (write && !existing.queued) this.enqueue(existing);
      return;
    }
    // The name suffix is the time in nanoseconds (client-go's %x of UnixNano); the sequence keeps it unique here.
    const nanos = BigInt(now) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    const entry: Entry = {
      key,
      name: `${ref.name}.${nanos.toString(16)}`,
      namespace: ref.namespace ?? "default",
      ref,
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: formatTime(now),
      lastTimestamp: formatTime(now),
      lastSeenMs: now,
      created: false,
      queued: false,
    };
    this.cache.delete(key);
    this.cache.set(key, entry);
    trimLru(this.cache, this.cacheSize);
    if (write) this.enqueue(entry);
  }

  /** Notes `message` among the similar events of `similarKey`; true when it is to be combined with them. */
  private isOneTooMany(similarKey: string, message: string, now: number): boolean {
    let record = this.similar.get(similarKey);
    if (!record || now - record.lastSeenMs > this.windowMs) record = { messages: new Set(), lastSeenMs: now };
    record.messages.add(message);
    record.lastSeenMs = now;
    this.similar.delete(similarKey);
    this.similar.set(similarKey, record);
    trimLru(this.similar, this.cacheSize);
    if (record.messages.size < this.aggregateMaxEvents) return false;
    // Keep the set at its limit: drop one message (client-go drops an arbitrary one).
    const first = record.messages.values().next().value;
    if (first !== undefined) record.messages.delete(first);
    return true;
  }

  /** Takes a token from the object's bucket; false when it is empty (the event is not written now). */
  private spamAllows(objectKey: string, now: number): boolean {
    const bucket = this.spam.get(objectKey) ?? { tokens: this.spamBurst, atMs: now };
    bucket.tokens = Math.min(this.spamBurst, bucket.tokens + ((now - bucket.atMs) / 1000) * this.spamQps);
    bucket.atMs = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.spam.delete(objectKey);
    this.spam.set(objectKey, bucket);
    trimLru(this.spam, this.cacheSize);
    return allowed;
  }

  private enqueue(entry: Entry): void {
    if (this.queue.length >= this.maxQueue) {
      this.dropped++;
      if (!entry.created) this.cache.delete(entry.key);
      if (this.dropped === 1 || this.dropped % 100 === 0) this.logger.warn({ dropped: this.dropped, maxQueue: this.maxQueue }, "Event queue full; dropping events");
      return;
    }
    entry.queued = true;
    this.queue.push(entry);
    this.working ??= this.work().finally(() => {
      this.working = undefined;
    });
  }

  flush(): Promise<void> {
    return this.working ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
  }

  private async work(): Promise<void> {
    // Start after the current synchronous burst, so repeats recorded in the same tick fold into one write.
    await Promise.resolve();
    for (let entry = this.queue.shift(); entry; entry = this.queue.shift()) {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.write(entry);
          break;
        } catch (err) {
          if (attempt >= this.maxAttempts) {
            this.logger.warn({ err, event: `${entry.namespace}/${entry.name}`, reason: entry.reason }, "Could not write event; dropping it");
            break;
          }
          await this.clock.sleep(this.retryDelayMs);
        }
      }
    }
  }

  /**
   * Creates the Event, or PATCHes count/lastTimestamp of one already created (re-creating it if it expired). The
   * entry's state is read synchronously before the request: repeats recorded after that point queue a new write.
   */
  private async write(entry: Entry): Promise<void> {
    entry.queued = false;
    if (entry.created) {
      try {
        await this.opts.client.patch(EVENTS, entry.namespace, entry.name, "merge", { count: entry.count, lastTimestamp: entry.lastTimestamp, message: entry.message });
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        entry.created = false; // expired by its TTL: create it again below
      }
    }
    try {
      await this.opts.client.create<CoreEvent>(EVENTS, entry.namespace, this.build(entry));
    } catch (err) {
      // A retry after a create whose reply was lost finds its own event: that is success.
      if (!isAlreadyExists(err)) throw err;
    }
    entry.created = true;
  }

  private build(entry: Entry): CoreEvent {
    const involvedObject: ObjectReference = { ...entry.ref };
    return {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: entry.name, namespace: entry.namespace },
      involvedObject,
      reason: entry.reason,
      message: entry.message,
      source: { component: this.opts.component, host: this.host },
      firstTimestamp: entry.firstTimestamp,
      lastTimestamp: entry.lastTimestamp,
      count: entry.count,
      type: entry.type,
      reportingComponent: this.opts.component,
      reportingInstance: this.host,
    };
  }
}
