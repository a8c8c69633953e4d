// An always-synced informer for unit tests that call a controller's sync(key) directly: the lister is a real Indexer
// (so indexes the controller adds work) holding deep-frozen objects like the real cache. Either the test drives it
// (set/add/update/delete), or FakeClient.informer() feeds it every write of the tracker synchronously; hold()
// and release() then model a lagging watch.
import { objectKey, type KubeObject } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/resources.js";
import { whenAborted } from "../../component-base/clock.js";
import {
  DeletedFinalStateUnknown,
  deepFreeze,
  Indexer,
  type EventHandler,
  type HandlerRegistration,
  type IndexFunc,
  type Informer,
  type Lister,
} from "../informer.js";

export class FakeInformer<T extends KubeObject> implements Informer<T> {
  private readonly store = new Indexer<T>();
  private readonly handlers: EventHandler<T>[] = [];
  private readonly pending: (() => void)[] = [];
  private held = false;
  private rvSeq = 1000;

  constructor(
    readonly resource: ResourceInfo,
    objects: readonly T[] = [],
  ) {
    for (const obj of objects) this.set(obj);
  }

  get lister(): Lister<T> {
    return this.store;
  }

  addEventHandler(handler: EventHandler<T>): HandlerRegistration {
    this.handlers.push(handler);
    for (const obj of this.store.list()) handler.onAdd?.(obj, true);
    return {
      remove: () => {
        const i = this.handlers.indexOf(handler);
        if (i >= 0) this.handlers.splice(i, 1);
      },
      hasSynced: () => true,
    };
  }

  addIndexers(fns: Readonly<Record<string, IndexFunc<T>>>): void {
    this.store.addIndexers(fns);
  }

  run(signal: AbortSignal): Promise<void> {
    return whenAborted(signal);
  }

  hasSynced(): boolean {
    return true;
  }

  waitForSync(): Promise<boolean> {
    return Promise.resolve(true);
  }

  lastSyncResourceVersion(): string {
    return String(this.rvSeq);
  }

  // ---- test drivers -----------------------------------------------------------------------------------------

  /** Stores a frozen copy without telling handlers (preloading); returns the cached copy. */
  set(obj: T): Readonly<T> {
    const copy = structuredClone(obj);
    copy.metadata.resourceVersion ??= String(++this.rvSeq);
    const frozen = deepFreeze(copy);
    this.store.upsert(objectKey(frozen.metadata), frozen);
    return frozen;
  }

  /** Removes an object without telling handlers. */
  unset(obj: Pick<T, "metadata">): void {
    this.store.delete(objectKey(obj.metadata));
  }

  /** Stores `obj` and calls onAdd. */
  add(obj: T): Readonly<T> {
    const stored = this.set(obj);
    for (const h of [...this.handlers]) h.onAdd?.(stored, false);
    return stored;
  }

  /**
   * Stores `obj` and calls onUpdate(old, new). A new resourceVersion is assigned unless `obj` brings its own, so
   * handlers that skip unchanged resourceVersions still see the change.
   */
  update(obj: T): Readonly<T> {
    const old = this.store.get(objectKey(obj.metadata));
    const copy = structuredClone(obj);
    if (!copy.metadata.resourceVersion || copy.metadata.resourceVersion === old?.metadata.resourceVersion) copy.metadata.resourceVersion = String(++this.rvSeq);
    const stored = this.set(copy);
    for (const h of [...this.handlers]) h.onUpdate?.(old ?? stored, stored);
    return stored;
  }

  /** Removes the object and calls onDelete, with a DeletedFinalStateUnknown tombstone when `tombstone` is set. */
  delete(obj: T, opts: { tombstone?: boolean } = {}): void {
    const key = objectKey(obj.metadata);
    const cached = this.store.get(key) ?? deepFreeze(structuredClone(obj));
    this.store.delete(key);
    const delivered = opts.tombstone ? new DeletedFinalStateUnknown<T>(key, cached) : cached;
    for (const h of [...this.handlers]) h.onDelete?.(delivered);
  }

  /** Stops applying observed writes (a lagging watch) until release(). */
  hold(): void {
    this.held = true;
  }

  /** Applies the writes held back, in order. */
  release(): void {
    this.held = false;
    for (const apply of this.pending.splice(0)) apply();
  }

  /** Applies a write seen on the tracker: an upsert is onAdd or onUpdate as the cache had the object, DELETED onDelete. */
  observe(type: "ADDED" | "MODIFIED" | "DELETED", raw: KubeObject): void {
    const key = objectKey(raw.metadata);
    const apply = (): void => {
      if (type === "DELETED") {
        const old = this.store.delete(key);
        const obj = old ?? (deepFreeze(structuredClone(raw)) as Readonly<T>);
        for (const h of [...this.handlers]) h.onDelete?.(obj);
        return;
      }
      const obj = deepFreeze(structuredClone(raw)) as Readonly<T>;
      const old = this.store.upsert(key, obj);
      for (const h of [...this.handlers]) {
        if (old) h.onUpdate?.(old, obj);
        else h.onAdd?.(obj, false);
      }
    };
    if (this.held) this.pending.push(apply);
    else apply();
  }
}
