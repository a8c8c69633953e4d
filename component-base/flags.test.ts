import { describe, expect, it } from "vitest";
import { defineFlags, formatDuration, givenFlags, loggingFlags, parseDuration, parseFlags, usage, type ParseOptions } from "./flags.js";

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const spec = defineFlags({
  ...loggingFlags,
  master: { type: "string", help: "The address of the Kubernetes API server" },
  bindAddress: { type: "string", default: "0.0.0.0", help: "The IP address on which to listen" },
  port: { type: "number", default: 10259, help: "The port on which to serve" },
  leaderElect: { type: "boolean", default: true, help: "Start a leader election client" },
  profiling: { type: "boolean", help: "Enable profiling" },
  leaseDuration: { type: "duration", default: "15s", help: "Lease duration" },
  syncPeriod: { type: "duration", help: "Sync period" },
  featureGates: { type: "stringArray", help: "Feature gates" },
});

function harness(): { opts: ParseOptions; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    opts: {
      command: "kube-scheduler",
      summary: "The scheduler binds pods to nodes.",
      exit: (code) => {
        throw new Exit(code);
      },
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
    },
  };
}

function parse(argv: string[]) {
  return parseFlags(spec, argv, harness().opts);
}

describe("parseFlags", () => {
  it("returns defaults, false for booleans and [] for arrays when nothing is given", () => {
    const flags = parse([]);
    expect(flags).toEqual({ v: 0, bindAddress: "0.0.0.0", port: 10259, leaderElect: true, profiling: false, leaseDuration: 15_000, featureGates: [] });
    expect(flags.master).toBeUndefined();
    expect(flags.syncPeriod).toBeUndefined();
  });

  it("infers the value types from the spec", () => {
    const flags = parse([]);
    const port: number = flags.port;
    const master: string | undefined = flags.master;
    const elect: boolean = flags.leaderElect;
    const gates: string[] = flags.featureGates;
    expect([port, master, elect, gates]).toBeDefined();
  });

  it.each([
    ["--flag=value", ["--master=http://a:8080"], "http://a:8080"],
    ["--flag value", ["--master", "http://b:8080"], "http://b:8080"],
    ["last one wins", ["--master=x", "--master=y"], "y"],
    ["an empty value", ["--master="], ""],
  ])("accepts %s for strings", (_title, argv, expected) => {
    expect(parse(argv).master).toBe(expected);
  });

  it("maps camelCase keys to kebab-case flags", () => {
    expect(parse(["--bind-address", "127.0.0.1"]).bindAddress).toBe("127.0.0.1");
  });

  it.each([
    [["--profiling"], true],
    [["--profiling=true"], true],
    [["--profiling=false"], false],
    [["--profiling=0"], false],
    [["--profiling=T"], true],
  ])("accepts boolean form %j", (argv, expected) => {
    expect(parse(argv).profiling).toBe(expected);
  });

  it("turns a default-true boolean off with --flag=false", () => {
    expect(parse(["--leader-elect=false"]).leaderElect).toBe(false);
  });

  it("parses numbers, including negative ones as separate arguments", () => {
    expect(parse(["--port=8080", "--v", "4"]).port).toBe(8080);
    expect(parse(["--port", "-1"]).port).toBe(-1);
    expect(parse(["-v", "6"]).v).toBe(6);
  });

  it("parses durations into milliseconds", () => {
    expect(parse(["--lease-duration=40s", "--sync-period", "1h30m"])).toMatchObject({ leaseDuration: 40_000, syncPeriod: 5_400_000 });
  });

  it("collects repeated array flags without splitting commas", () => {
    expect(parse(["--feature-gates=A=true,B=false", "--feature-gates", "C=true"]).featureGates).toEqual(["A=true,B=false", "C=true"]);
  });

  it.each([
    [["--nope"], "unknown flag: --nope"],
    [["--nope=1"], "unknown flag: --nope"],
    [["-x"], "unknown shorthand flag: -x"],
    [["--master"], "flag needs an argument: --master"],
    [["--port=abc"], 'invalid argument "abc" for "--port" flag'],
    [["--lease-duration=10"], 'invalid argument "10" for "--lease-duration" flag: time: missing unit'],
    [["--profiling=maybe"], 'invalid argument "maybe" for "--profiling" flag'],
    [["stray"], 'unexpected argument "stray"'],
  ])("exits 2 with an error and the usage for %j", (argv, message) => {
    const h = harness();
    expect(() => parseFlags(spec, argv, h.opts)).toThrow(new Exit(2));
    const text = h.err.join("");
    expect(text).toContain(`Error: ${message}`);
    expect(text).toContain("Usage:\n  kube-scheduler [flags]");
    expect(h.out).toEqual([]);
  });

  it.each([["--help"], ["-h"]])("prints usage to stdout and exits 0 on %s", (arg) => {
    const h = harness();
    expect(() => parseFlags(spec, ["--port=1", arg], h.opts)).toThrow(new Exit(0));
    const text = h.out.join("");
    expect(text).toContain("The scheduler binds pods to nodes.");
    expect(text).toMatch(/--bind-address string\s+The IP address on which to listen \(default "0\.0\.0\.0"\)/);
    expect(text).toMatch(/--port number\s+The port on which to serve \(default 10259\)/);
    expect(text).toMatch(/--leader-elect\s+Start a leader election client \(default true\)/);
    expect(text).toMatch(/--lease-duration duration\s+Lease duration \(default 15s\)/);
    expect(text).toMatch(/--feature-gates stringArray\s+Feature gates/);
    expect(text).toMatch(/-v, --v number\s+number for the log level verbosity \(default 0\)/);
    expect(text).toMatch(/-h, --help\s+help for kube-scheduler/);
    expect(text).toContain("--master string");
    expect(text).toContain("--profiling ");
  });

  it("lists every flag in the usage", () => {
    const text = usage(spec, { command: "x" });
    for (const name of ["v", "master", "bind-address", "port", "leader-elect", "profiling", "lease-duration", "sync-period", "feature-gates", "help"]) expect(text).toContain(`--${name}`);
  });

  it("accepts positionals only when allowed", () => {
    const h = harness();
    const flags = parseFlags(spec, ["a", "--port=1", "b"], { ...h.opts, allowPositionals: true });
    expect(flags.port).toBe(1);
  });
});

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["200ms", 200],
    ["40s", 40_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    ["-2m", -120_000],
    ["+3s", 3000],
    ["1h2m3s4ms", 3_723_004],
    ["100us", 0.1],
    ["1000000ns", 1],
    [".5h", 1_800_000],
  ])("parses %s", (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(["", "10", "s", "1x", "1.5", "--1s", "1s2"])("rejects %j", (text) => {
    expect(() => parseDuration(text)).toThrow(/time: /);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [200, "200ms"],
    [1500, "1.5s"],
    [40_000, "40s"],
    [90_000, "1m30s"],
    [300_000, "5m0s"],
    [3_600_000, "1h0m0s"],
    [5_400_000, "1h30m0s"],
    [-1000, "-1s"],
  ])("formats %d ms as Go does (%s)", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("givenFlags", () => {
  it("names the long flags a command line gives, with or without a value, up to --", () => {
    expect([...givenFlags(["--anonymous-auth", "--secure-port=6443", "-v", "2", "--", "--after"])]).toEqual(["anonymous-auth", "secure-port"]);
  });
});
