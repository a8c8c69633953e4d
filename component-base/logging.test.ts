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

  it("writes level, ts, bindings, fields and msg in that order, as pino did", () => {
    const lines: string[] = [];
    const logger = createLogger("apiserver", { destination: { write: (line: string) => lines.push(line) } });
    logger.child({ worker: 1 }).warn({ port: 8080 }, "Serving");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\{"level":"warn","ts":\d+(\.\d+)?,"component":"apiserver","worker":1,"port":8080,"msg":"Serving"\}\n$/);
  });

  it("takes an Error alone as err with its message as msg, and serializes its cause and own fields", () => {
    const out = capture();
    const cause = Object.assign(new Error("ECONNREFUSED"), { code: "ECONNREFUSED" });
    createLogger("x", { destination: out.stream }).error(new TypeError("dial failed", { cause }));
    expect(out.lines()[0]).toMatchObject({ msg: "dial failed", err: { type: "TypeError", message: "dial failed", cause: { type: "Error", message: "ECONNREFUSED", code: "ECONNREFUSED" } } });
    expect((out.lines()[0]?.err as { stack: string }).stack).toContain("TypeError: dial failed");
  });

  it("never loses a line to a cycle or a BigInt, and writes nothing when silent", () => {
    const out = capture();
    const loop: Record<string, unknown> = { name: "a", shared: { n: 1 } };
    loop.self = loop;
    loop.again = loop.shared;
    createLogger("x", { destination: out.stream }).info({ loop, id: 2n ** 64n, at: new Date(0) }, "odd fields");
    expect(out.lines()[0]).toMatchObject({ msg: "odd fields", id: "18446744073709551616", at: "1970-01-01T00:00:00.000Z", loop: { name: "a", self: "[Circular]", shared: { n: 1 }, again: { n: 1 } } });
    const quiet = createLogger("x", { level: "silent", destination: out.stream });
    quiet.error("dropped");
    expect(quiet.isLevelEnabled("fatal")).toBe(false);
    expect(out.lines()).toHaveLength(1);
  });

  it("maps verbosity to levels like klog's V-levels", () => {
    expect([0, 1, 2, 4, 5, 10].map(levelForVerbosity)).toEqual(["info", "info", "debug", "debug", "trace", "trace"]);
  });
});
