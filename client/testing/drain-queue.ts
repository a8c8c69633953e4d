// Runs a controller's queue to empty in a test, without the worker loop: each key goes to `sync`, and keys that
// processing adds are processed too.
export interface DrainableQueue {
  len(): number;
  get(): Promise<{ shutdown: false; item: string } | { shutdown: true }>;
  done(item: string): void;
}

/** Processes what `queue` holds (and what processing adds) until it is empty; returns the keys in order. */
export async function drainQueue(queue: DrainableQueue, sync: (key: string) => Promise<unknown>, maxItems = 1000): Promise<string[]> {
  const processed: string[] = [];
  while (queue.len() > 0) {
    if (processed.length >= maxItems) throw new Error(`queue did not drain after ${maxItems} items`);
    const next = await queue.get();
    if (next.shutdown) break;
    processed.push(next.item);
    try {
      await sync(next.item);
    } finally {
      queue.done(next.item);
    }
  }
  return processed;
}
