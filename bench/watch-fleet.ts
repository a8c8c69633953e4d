// The watch fan-out figure's watchers, held in a child process of their own: the bench process that stamps each
// create's send time then never waits behind a thousand sockets' reads, so the delivery latency measured is the
// apiserver's and not the bench's event loop. Each watcher reads raw chunked JSON lines and scans them for the
// send-time marker the creates carry; latencies are computed in the child against the wall clock
// (performance.timeOrigin + now, the same in both processes) and only their summary crosses the IPC channel.
//
// The fleet shares the machine's cores with the apiserver it measures, so it reads as cheaply as it can: each
// watcher is a plain TCP connection with its own small HTTP/1.1 response reader (status line, headers, chunked
// framing) that scans the body's bytes for newlines and the marker, without node:http's parser, stream and string
// decoding per chunk. Through node:http the fleet spent about as much CPU per delivered event as the apiserver
// itself (~3 µs each; 0.3–0.9 of the 2 cores during the figure), CPU the apiserver then did not get.
import { fork, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
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
  socket: Socket;
  /** The response's status code once its head is read. */
  status?: number;
  received: number;
  ended: boolean;
  error?: string;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
/** The end of a response head. */
const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * An HTTP/1.1 response read off a socket: the head, then the body's bytes (de-chunked when the response is
 * chunked, as every watch is) split into lines. Only what the fleet needs: no trailers, no keep-alive.
 */
export class ResponseReader {
  private head: Buffer[] = [];
  private headBytes = 0;
  private inBody = false;
  private chunked = false;
  /** Chunked framing: reading a size line, `remaining` bytes of data, or the CRLF after them. */
  private framing: "size" | "data" | "crlf" | "done" = "size";
  private sizeLine = "";
  private remaining = 0;
  /** Pieces of the body's current line (views of the socket's buffers, which are never reused). */
  private line: Buffer[] = [];

  constructor(
    private readonly onHead: (status: number, head: string) => void,
    private readonly onLine: (line: Buffer) => void,
    private readonly onFinished: () => void,
  ) {}

  feed(data: Buffer): void {
    if (this.inBody) {
      this.body(data);
      return;
    }
    this.head.push(data);
    this.headBytes += data.length;
    const all = this.head.length === 1 ? data : Buffer.concat(this.head, this.headBytes);
    const end = all.indexOf(HEAD_END);
    if (end < 0) {
      this.head = [all];
      return;
    }
    this.head = [];
    const head = all.toString("latin1", 0, end);
    this.chunked = /\r\ntransfer-encoding:[ \t]*chunked/i.test(head);
    this.inBody = true;
    this.onHead(Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head);
    if (end + HEAD_END.length < all.length) this.body(all.subarray(end + HEAD_END.length));
  }

  /** The connection ended: a last line without its newline still counts. */
  finish(): void {
    if (this.line.length > 0) this.emitLine(Buffer.alloc(0));
  }

  private body(data: Buffer): void {
    if (!this.chunked) {
      this.lines(data);
      return;
    }
    let i = 0;
    while (i < data.length && this.framing !== "done") {
      if (this.framing === "size") {
        const nl = data.indexOf(NEWLINE, i);
        this.sizeLine += data.toString("latin1", i, nl < 0 ? data.length : nl);
        if (nl < 0) return;
        i = nl + 1;
        // "<hex size>[;extensions]\r"
        const size = Number.parseInt(this.sizeLine.split(";")[0]!.trim(), 16);
        this.sizeLine = "";
        if (!(size > 0)) {
          this.framing = "done";
          this.onFinished();
          return;
        }
        this.remaining = size;
        this.framing = "data";
      } else if (this.framing === "data") {
        const take = Math.min(this.remaining, data.length - i);
        this.lines(data.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          this.framing = "crlf";
          this.remaining = 2;
        }
      } else {
        const take = Math.min(this.remaining, data.length - i);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.framing = "size";
      }
    }
  }

  private lines(data: Buffer): void {
    let start = 0;
    for (let nl = data.indexOf(NEWLINE, start); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      this.emitLine(data.subarray(start, nl));
      start = nl + 1;
    }
    if (start < data.length) this.line.push(data.subarray(start));
  }

  private emitLine(last: Buffer): void {
    const line = this.line.length === 0 ? last : Buffer.concat([...this.line, last]);
    this.line = [];
    if (line.length > 0) this.onLine(line);
  }
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
  // The marker as the apiservers write it (compact JSON); the regular expression for any other spacing.
  const markerBytes = Buffer.from(`"${spec.markerKey}":"`);
  const markerKey = Buffer.from(`"${spec.markerKey}"`);
  const marker = new RegExp(`"${spec.markerKey}"\\s*:\\s*"([0-9.]+)"`);
  const report = (): void => {
    send({ kind: "report", delivered, completeWatchers: complete, endedEarly, errorSamples, lastDeliveryAt, latencyMs: latency.summary(), rssBytes: process.memoryUsage.rss() });
  };
  const noteError = (state: WatcherState, message: string): void => {
    state.error ??= message;
    if (errorSamples.length < 5) errorSamples.push(message);
  };
  /** The send time a line carries, or undefined when it carries none. */
  const sentAt = (line: Buffer): number | undefined => {
    const at = line.indexOf(markerBytes);
    if (at >= 0) {
      const from = at + markerBytes.length;
      const to = line.indexOf(QUOTE, from);
      return to < 0 ? undefined : Number(line.toString("latin1", from, to));
    }
    if (line.indexOf(markerKey) < 0) return undefined;
    const m = marker.exec(line.toString("utf8"));
    return m ? Number(m[1]) : undefined;
  };
  const handleLine = (state: WatcherState, line: Buffer, receivedAt: number): void => {
    const sent = sentAt(line);
    if (sent !== undefined) {
      latency.add(receivedAt - sent);
      delivered++;
      state.received++;
      if (state.received === spec.expectedPerWatcher) {
        complete++;
        lastDeliveryAt = receivedAt;
        if (complete === spec.total) report();
      }
      return;
    }
    const text = line.toString("utf8").trim();
    if (text.length === 0) return;
    try {
      const event: unknown = JSON.parse(text);
      if (event && typeof event === "object" && "type" in event && event.type === "ERROR") {
        noteError(state, `ERROR event: ${"object" in event ? JSON.stringify(event.object).slice(0, 300) : text.slice(0, 300)}`);
      }
    } catch {
      noteError(state, `undecodable watch line: ${text.slice(0, 200)}`);
    }
  };
  const open = (): WatcherState => {
    const port = Number(url.port || 80);
    const socket = connect({ host: url.hostname, port, noDelay: true });
    const state: WatcherState = { socket, received: 0, ended: false };
    const end = (): void => {
      if (state.ended) return;
      reader.finish();
      state.ended = true;
      if (state.status === 200 && state.received < spec.expectedPerWatcher) endedEarly++;
      socket.destroy();
    };
    let receivedAt = 0;
    const reader = new ResponseReader(
      (status) => {
        state.status = status;
        if (status !== 200) {
          noteError(state, `watch → ${status}`);
          end();
        }
      },
      (line) => { handleLine(state, line, receivedAt); },
      end,
    );
    let pendingBytes = 0;
    socket.on("data", (data: Buffer) => {
      receivedAt = wallMs();
      reader.feed(data);
      // A line that never ends is not a watch stream.
      pendingBytes = data.includes(NEWLINE) ? 0 : pendingBytes + data.length;
      if (pendingBytes > 4 * 1024 * 1024) {
        noteError(state, "watch stream sent over 4 MiB without a newline");
        end();
      }
    });
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", (err) => {
      if (!state.ended) noteError(state, `watch request: ${err.message}`);
    });
    socket.write(`GET ${spec.path} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);
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
      while (nowMs() < until && opened.some((s) => s.status === undefined && !s.error)) await new Promise((r) => setTimeout(r, 5));
    }
    send({ kind: "established", established: states.filter((s) => s.status === 200).length, establishMs: nowMs() - establishStart });
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
