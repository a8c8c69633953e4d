import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger } from "./logging.js";
import { onShutdown, runUntilAborted, type ProcessLike } from "./shutdown.js";

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function fakeProcess(): ProcessLike & { emitter: EventEmitter; exits: number[] } {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    emitter,
    exits,
    on: (event, listener) => emitter.on(event, listener),
    off: (event, listener) => emitter.off(event, listener),
    exit: (code) => {
      exits.push(code);
      throw new Exit(code);
    },
  };
}

describe("onShutdown", () => {
  it("aborts on the first signal and exits 1 on the second", () => {
    const proc = fakeProcess();
    const signal = onShutdown(silentLogger(), { process: proc });
    expect(signal.aborted).toBe(false);
    proc.emitter.emit("SIGTERM", "SIGTERM");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("SIGTERM");
    expect(() => proc.emitter.emit("SIGINT", "SIGINT")).toThrow(new Exit(1));
    expect(proc.exits).toEqual([1]);
  });
});

describe("runUntilAborted", () => {
  it("exits 0 after main returns and the signal aborted", async () => {
    const proc = fakeProcess();
    let seen: AbortSignal | undefined;
    const run = runUntilAborted(
      silentLogger(),
      (signal) => {
        seen = signal;
      },
      { process: proc },
    );
    await new Promise((r) => setImmediate(r));
    expect(proc.exits).toEqual([]);
    proc.emitter.emit("SIGINT", "SIGINT");
    await expect(run).rejects.toThrow(new Exit(0));
    expect(seen?.aborted).toBe(true);
  });

  it("exits 1 when main throws", async () => {
    const proc = fakeProcess();
    await expect(runUntilAborted(silentLogger(), () => Promise.reject(new Error("bad flags")), { process: proc })).rejects.toThrow(new Exit(1));
  });

  it("exits 1 once the grace period is over when main has not returned", async () => {
    const proc = fakeProcess();
    // Not thrown like the others' exit: this one is called from the grace timer, where nothing would catch it.
    const exited = new Promise<number>((resolve) => { proc.exit = (code) => { resolve(code); return undefined as never; }; });
    void runUntilAborted(silentLogger(), () => new Promise<void>(() => { /* never settles */ }), { process: proc, gracePeriodMs: 20 });
    proc.emitter.emit("SIGTERM", "SIGTERM");
    expect(await exited).toBe(1);
  });
});
