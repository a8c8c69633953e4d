// A preloaded, always-synced informer for controller unit tests: the lister is a real Indexer (so indexes added by
// the controller work), objects are deep-frozen like the real cache's, and the test drives handlers explicitly with
// add/update/delete instead of a watch.
import type { KubeObject } from "../../../api/meta.js";
import { objectKey } from "../../../api/meta.js";
import type { ResourceInfo } from "../../../api/resources.js";
import {
  DeletedFinalStateUnknown,
  deepFreeze,
  Indexer,
  type EventHandler,
  type HandlerRegistration,
  type IndexFunc,
  type Informer,
  type Lister,
} from "../../../client/informer.js";
import { whenAborted } from "../../../component-base/clock.js";

export class FakeInformer<T extends KubeObject> implements Informer<T> {
  private readonly store: Indexer<T>;
  private readonly handlers: EventHandler<T>[] = [];
  private rvSeq = 1000;

  constructor(
    readonly resource: ResourceInfo,
    objects: readonly T[] = [],
  ) {
    this.store = new Indexer<T>();
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
    const key = objectKey(obj.metadata);
    const old = this.store.get(key);
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
}
