import { describe, expect, it } from "vitest";
import { LogRing } from "./log-ring.js";
import { logFileName } from "./owner.js";
import { DEFAULT_RESTART_POLICY, describeExit, describeProbe, restartDelayMs } from "./runner.js";

describe("restartDelayMs", () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1_000, resetAfterMs: 10_000 };

  it("doubles with each crash in a row, up to the maximum", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => restartDelayMs(n, policy))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("never overflows on a long crash loop", () => {
    expect(restartDelayMs(10_000, DEFAULT_RESTART_POLICY)).toBe(DEFAULT_RESTART_POLICY.maxDelayMs);
  });
});

describe("LogRing", () => {
  it("keeps everything within its budget", () => {
    const ring = new LogRing(10);
    ring.append("abc");
    ring.append("def");
    expect(ring.contents()).toBe("abcdef");
    expect(ring.tail(2)).toBe("ef");
  });

  it("drops the oldest output down to half its budget when it overflows", () => {
    const ring = new LogRing(10);
    ring.append("0123456789");
    ring.append("ab");
    expect(ring.contents()).toBe("789ab");
  });

  it("gives the output after a mark, even when older output was trimmed", () => {
    const ring = new LogRing(10);
    ring.append("ready\n");
    const mark = ring.mark();
    expect(ring.since(mark)).toBe("");
    ring.append("abcdefgh");
    expect(ring.since(mark)).toBe("defgh");
    expect(ring.since(0)).toBe("defgh");
  });

  it("refuses a budget that keeps nothing", () => {
    expect(() => new LogRing(0)).toThrow(/positive/);
  });
});

describe("describing processes", () => {
  it("says why a process is gone", () => {
    expect(describeExit(1, null)).toBe("exited with code 1");
    expect(describeExit(null, "SIGKILL")).toBe("killed by SIGKILL");
    expect(describeExit(null, null)).toBeUndefined();
  });

  it("says what a probe waits for", () => {
    expect(describeProbe({ kind: "http", url: "http://127.0.0.1:1/readyz" })).toBe("GET http://127.0.0.1:1/readyz");
    expect(describeProbe({ kind: "log", pattern: /ready/ })).toBe("output matching /ready/");
  });

  it("makes a component name safe as a log file name", () => {
    expect(logFileName("hollow-nodes hn")).toBe("hollow-nodes-hn.log");
    expect(logFileName("scheduler (deployment cluster)")).toBe("scheduler-deployment-cluster.log");
  });
});
