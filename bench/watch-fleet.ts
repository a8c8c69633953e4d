// The watch fan-out figure's watchers, held in a child process of their own: the bench process that stamps each
// create's send time then never waits behind a thousand sockets' reads, so the delivery latency measured is the
// apiserver's and not the bench's event loop. Each watcher reads raw chunked JSON lines and scans them for the
// send-time marker the creates carry; latencies are computed in the child against the wall clock
// (performance.timeOrigin + now, the same in both processes) and only their summary crosses the IPC channel.
import { fork, type ChildProcess } from "node:child_process";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { Samples, nowMs, wallMs, type LatencySummary } from "./stats.js";

/** What the fleet opens: `total` watches of `path` on `baseUrl`, each expecting `expectedPerWatcher` marked events. */
export interface FleetSpec {
  baseUrl: string;
  path: string;
  total: number;
  expectedPerWatcher: number;
  /** The data key whose value is the create's send time (wall-clock ms). */
  markerKey: string;
}

export interface FleetEstablished {
  established: number;
  establishMs: number;
}

export interface FleetReport {
  delivered: number;
  completeWatchers: number;
  endedEarly: number;
  errorSamples: string[];
  /** Wall-clock ms of the delivery that completed the last watcher (0 if none completed). */
  lastDeliveryAt: number;
  latencyMs: LatencySummary;
  rssBytes: number;
}

type ParentMessage = { kind: "open"; spec: FleetSpec } | { kind: "report" };
type ChildMessage = ({ kind: "established" } & FleetEstablished) | ({ kind: "report" } & FleetReport) | { kind: "failed"; message: string };

/** A running fleet; `report()` resolves once every watcher got every event or when asked early (`now`). */
export interface WatchFleet {
  readonly pid: number;
  established: Promise<FleetEstablished>;
  /** Resolves when every watcher saw every expected event; never rejects (see `report`). */
  complete: Promise<void>;
  /** The fleet's figures so far. */
  report(): Promise<FleetReport>;
  stop(): void;
}

/** Forks the fleet and opens its watchers (in batches of 100, each batch's response headers awaited up to 5 s). */
export function startWatchFleet(spec: FleetSpec): WatchFleet {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--watch-fleet"], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let onEstablished: ((e: FleetEstablished) => void) | undefined;
  let onFailed: ((err: Error) => void) | undefined;
  let onComplete: (() => void) | undefined;
  const reports: ((r: FleetReport) => void)[] = [];
  const established = new Promise<FleetEstablished>((resolve, reject) => {
    onEstablished = resolve;
    onFailed = reject;
  });
  const complete = new Promise<void>((resolve) => { onComplete = resolve; });
  child.on("message", (raw: ChildMessage) => {
    if (raw.kind === "established") onEstablished?.({ established: raw.established, establishMs: raw.establishMs });
    else if (raw.kind === "failed") onFailed?.(new Error(`watch fleet: ${raw.message}`));
    else {
      const { kind: _kind, ...report } = raw;
      if (report.completeWatchers === spec.total) onComplete?.();
      reports.shift()?.(report);
    }
  });
  child.on("exit", (code, signal) => { onFailed?.(new Error(`watch fleet exited (${signal ?? code ?? "?"})`)); });
  child.send({ kind: "open", spec } satisfies ParentMessage);
  return {
    pid: child.pid ?? -1,
    established,
    complete,
    report: () =>
      new Promise<FleetReport>((resolve, reject) => {
        reports.push(resolve);
        if (!child.send({ kind: "report" } satisfies ParentMessage)) reject(new Error("watch fleet: IPC channel closed"));
      }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

interface WatcherState {
  req: ClientRequest;
  res?: IncomingMessage;
  received: number;
  remainder: string;
  ended: boolean;
  error?: string;
}

/** The child's side: opens the watchers, counts and times marked events, answers report requests. */
function runFleet(spec: FleetSpec, send: (m: ChildMessage) => void): { report: () => void } {
  const url = new URL(spec.baseUrl);
  const latency = new Samples(spec.total * spec.expectedPerWatcher);
  const errorSamples: string[] = [];
  const states: WatcherState[] = [];
  let delivered = 0;
  let complete = 0;
  let endedEarly = 0;
  let lastDeliveryAt = 0;
  const marker = new RegExp(`"${spec.markerKey}"\\s*:\\s*"([0-9.]+)"`);
  const report = (): void => {
    send({ kind: "report", delivered, completeWatchers: complete, endedEarly, errorSamples, lastDeliveryAt, latencyMs: latency.summary(), rssBytes: process.memoryUsage.rss() });
  };
  const noteError = (state: WatcherState, message: string): void => {
    state.error ??= message;
    if (errorSamples.length < 5) errorSamples.push(message);
  };
  const handleLine = (state: WatcherState, line: string, receivedAt: number): void => {
    if (line.length === 0) return;
    const m = marker.exec(line);
    if (m) {
      latency.add(receivedAt - Number(m[1]));
      delivered++;
      state.received++;
      if (state.received === spec.expectedPerWatcher) {
        complete++;
        lastDeliveryAt = receivedAt;
        if (complete === spec.total) report();
      }
      return;
    }
    try {
      const event: unknown = JSON.parse(line);
      if (event && typeof event === "object" && "type" in event && event.type === "ERROR") {
        noteError(state, `ERROR event: ${"object" in event ? JSON.stringify(event.object).slice(0, 300) : line.slice(0, 300)}`);
      }
    } catch {
      noteError(state, `undecodable watch line: ${line.slice(0, 200)}`);
    }
  };
  const open = (): WatcherState => {
    const req = httpRequest({ hostname: url.hostname, port: Number(url.port), path: spec.path, method: "GET", agent: false, headers: { accept: "application/json" } });
    const state: WatcherState = { req, received: 0, remainder: "", ended: false };
    req.on("response", (res) => {
      state.res = res;
      if (res.statusCode !== 200) {
        noteError(state, `watch → ${res.statusCode ?? 0}`);
        res.resume();
        return;
      }
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const receivedAt = wallMs();
        const text = state.remainder + chunk;
        let start = 0;
        for (let nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
          handleLine(state, text.slice(start, nl).trim(), receivedAt);
          start = nl + 1;
        }
        state.remainder = text.slice(start);
        if (state.remainder.length > 4 * 1024 * 1024) {
          noteError(state, "watch stream sent over 4 MiB without a newline");
          state.remainder = "";
        }
      });
      res.on("end", () => {
        if (state.remainder.trim()) handleLine(state, state.remainder.trim(), wallMs());
        state.remainder = "";
        state.ended = true;
        if (state.received < spec.expectedPerWatcher) endedEarly++;
      });
      res.on("error", () => { /* counted through "end" */ });
    });
    req.on("error", (err) => {
      if (!state.ended) noteError(state, `watch request: ${err.message}`);
    });
    req.end();
    return state;
  };
  void (async () => {
    const establishStart = nowMs();
    const batch = 100;
    for (let i = 0; i < spec.total; i += batch) {
      const opened: WatcherState[] = [];
      for (let j = i; j < Math.min(spec.total, i + batch); j++) opened.push(open());
      states.push(...opened);
      const until = nowMs() + 5_000;
      while (nowMs() < until && opened.some((s) => !s.res && !s.error)) await new Promise((r) => setTimeout(r, 5));
    }
    send({ kind: "established", established: states.filter((s) => s.res?.statusCode === 200).length, establishMs: nowMs() - establishStart });
  })().catch((err: unknown) => { send({ kind: "failed", message: err instanceof Error ? err.message : String(err) }); });
  return { report };
}

if (process.argv[2] === "--watch-fleet" && process.send) {
  const send = (m: ChildMessage): void => { process.send?.(m); };
  let fleet: { report: () => void } | undefined;
  process.on("message", (m: ParentMessage) => {
    if (m.kind === "open") fleet ??= runFleet(m.spec, send);
    else fleet?.report();
  });
  process.on("disconnect", () => { process.exit(0); });
}
