// Time as a dependency (the k8s.io/utils/clock analog): everything that waits, schedules or stamps times takes a
// Clock through its options so that tests drive time with FakeClock (component-base/testing/fake-clock.ts)
// instead of sleeping.

/** A scheduled callback; cancel() is idempotent and a no-op after it fired. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  /**
   * Resolves after `ms`, or as soon as `signal` aborts. Never rejects: resolves true when the full time passed and
   * false when it was cut short, so loops write `if (!(await clock.sleep(ms, signal))) return;`.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

/** Shared sleep built on any Clock's setTimeout, so FakeClock and the real clock behave the same on abort. */
export function sleepOn(clock: Pick<Clock, "setTimeout">, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      timer.cancel();
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

class RealClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const handle = setTimeout(fn, Math.max(0, ms));
    return {
      cancel: () => {
        clearTimeout(handle);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    return sleepOn(this, ms, signal);
  }
}

export const realClock: Clock = new RealClock();

/** Resolves when `signal` aborts (immediately if it already has). */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener(
      "abort",
      () => {
        resolve();
      },
      { once: true },
    );
  });
}
