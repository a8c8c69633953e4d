// The live view's model: every collection of rows the page shows, and the changes not yet sent. Writers set rows
// (or undefined for a row that is gone); a row equal to the one held is no change, so the page hears only of what
// it would draw differently. Changes to one row between two flushes coalesce into the last one, stamped with the
// time of the first (the page measures its delay from there).
import type { Change, Collection, Rows } from "./web/protocol.js";

interface Held<R> {
  row: R;
  /** The row's JSON, to compare the next one with. */
  json: string;
}

type Store = { [C in Collection]: Map<string, Held<Rows[C]>> };

export interface ClusterStateOptions {
  /** Milliseconds since the epoch; injected so tests control the stamps. */
  now?: () => number;
  /** Called once when the first change after a flush arrives (the server schedules a flush). */
  onPending?: () => void;
}

export class ClusterState {
  private readonly store: Store = { nodes: new Map(), pods: new Map(), deployments: new Map(), services: new Map(), events: new Map(), components: new Map() };
  private pending = new Map<string, Change>();
  private readonly now: () => number;

  constructor(private readonly opts: ClusterStateOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** Sets a row, or removes it when `row` is undefined; returns whether anything changed. */
  set<C extends Collection>(collection: C, key: string, row: Rows[C] | undefined): boolean {
    const rows = this.store[collection] as Map<string, Held<Rows[C]>>;
    const held = rows.get(key);
    if (row === undefined) {
      if (held === undefined) return false;
      rows.delete(key);
    } else {
      const json = JSON.stringify(row);
      if (held?.json === json) return false;
      rows.set(key, { row, json });
    }
    this.record({ collection, key, ...(row === undefined ? {} : { row }) });
    return true;
  }

  get<C extends Collection>(collection: C, key: string): Rows[C] | undefined {
    return (this.store[collection] as Map<string, Held<Rows[C]>>).get(key)?.row;
  }

  keys(collection: Collection): string[] {
    return [...this.store[collection].keys()];
  }

  rows<C extends Collection>(collection: C): Rows[C][] {
    return [...(this.store[collection] as Map<string, Held<Rows[C]>>).values()].map((h) => h.row);
  }

  size(collection: Collection): number {
    return this.store[collection].size;
  }

  /** Removes every row of `collection` whose key is not in `keep` (a poll that returned the whole set). */
  retain(collection: Collection, keep: ReadonlySet<string>): void {
    for (const key of this.keys(collection)) if (!keep.has(key)) this.set(collection, key, undefined);
  }

  /** Keeps the `max` rows of `collection` that rank highest by `rank` (newest events), removing the rest. */
  trim<C extends Collection>(collection: C, max: number, rank: (row: Rows[C]) => number): void {
    if (this.size(collection) <= max) return;
    const ranked = [...(this.store[collection] as Map<string, Held<Rows[C]>>).entries()].sort((a, b) => rank(b[1].row) - rank(a[1].row));
    for (const [key] of ranked.slice(max)) this.set(collection, key, undefined);
  }

  /** Every row, by collection and key (what a page that just connected is sent). */
  snapshot(): { [C in Collection]: Record<string, Rows[C]> } {
    const out = {} as { [C in Collection]: Record<string, Rows[C]> };
    for (const collection of Object.keys(this.store) as Collection[]) {
      out[collection] = Object.fromEntries([...this.store[collection].entries()].map(([k, h]) => [k, h.row])) as never;
    }
    return out;
  }

  hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** The changes since the last call, in the order their rows first changed. */
  takeChanges(): Change[] {
    const changes = [...this.pending.values()];
    this.pending = new Map();
    return changes;
  }

  private record(change: Omit<Change, "observedAt">): void {
    const id = `${change.collection}\u0000${change.key}`;
    const earlier = this.pending.get(id);
    const first = this.pending.size === 0;
    this.pending.set(id, { ...change, observedAt: earlier?.observedAt ?? this.now() } as Change);
    if (first) this.opts.onPending?.();
  }
}
