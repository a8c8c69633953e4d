import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, levelForVerbosity } from "./logging.js";

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("createLogger", () => {
  it("writes one JSON line per message with msg, component, level, ts and key/values", () => {
    const out = capture();
    const logger = createLogger("scheduler", { destination: out.stream });
    logger.info({ pod: "default/web", node: "node-1" }, "Bound pod");
    const [line] = out.lines();
    expect(line).toMatchObject({ msg: "Bound pod", component: "scheduler", level: "info", pod: "default/web", node: "node-1" });
    expect(typeof line!.ts).toBe("number");
    expect(Math.abs((line!.ts as number) - Date.now() / 1000)).toBeLessThan(5);
    expect(line).not.toHaveProperty("pid");
    expect(line).not.toHaveProperty("hostname");
  });

  it("serializes errors under err with message and stack", () => {
    const out = capture();
    createLogger("kubelet", { destination: out.stream }).error({ err: new Error("no runtime") }, "Sync failed");
    expect(out.lines()[0]).toMatchObject({ level: "error", err: { message: "no runtime", type: "Error" } });
  });

  it.each([
    [0, ["info"]],
    [2, ["debug", "info"]],
    [4, ["debug", "info"]],
    [6, ["trace", "debug", "info"]],
  ])("at --v=%i writes levels %j", (v, levels) => {
    const out = capture();
    const logger = createLogger("x", { verbosity: v, destination: out.stream });
    logger.trace("trace");
    logger.debug("debug");
    logger.info("info");
    expect(out.lines().map((l) => l.level).sort()).toEqual([...levels].sort());
  });

  it("lets an explicit level override verbosity and carries child bindings", () => {
    const out = capture();
    const logger = createLogger("x", { verbosity: 9, level: "warn", destination: out.stream, base: { node: "n1" } });
    logger.info("hidden");
    logger.child({ controller: "rs" }).warn("shown");
    expect(out.lines()).toEqual([expect.objectContaining({ msg: "shown", component: "x", node: "n1", controller: "rs" })]);
  });

  it("maps verbosity to pino levels like klog's V-levels", () => {
    expect([0, 1, 2, 4, 5, 10].map(levelForVerbosity)).toEqual(["info", "info", "debug", "debug", "trace", "trace"]);
  });
});
