// `npm run bench -- dns`: kubelab-dns as a real process against a real apiserver holding --services Services, asked
// from one client (one UDP socket, --concurrency queries in flight) and measured in the same run against the same
// client asking a bare responder on loopback (the ceiling of the client and the loopback, the reference): queries/s
// and p50/p99 latency for a Service's A record, the NXDOMAIN of a search-path miss, a forwarded name the upstream
// gives TTL 0 (never cached: every query goes upstream) and one it gives TTL 60 (answered from the cache).
import dnsPacket from "dns-packet";
import { createSocket, type Socket } from "node:dgram";
import { join } from "node:path";
import { RESOURCES } from "../api/resources.js";
import type { Service } from "../api/types/index.js";
import { RestClient } from "../client/rest.js";
import type { Component } from "../lab/components/component.js";
import { REPO_ROOT } from "../lab/components/entries.js";
import { configOrExitCode, flagsHelp, parseFlags, type FlagSpec } from "./args.js";
import { onCleanup, processMemory, runCleanups, startBenchApiServer, startBenchEtcd } from "./cluster.js";
import { startBenchComponent } from "./components.js";
import { runPool } from "./http.js";
import { fmt, fmtBytes, jsonLine, progress, renderTable, type ReportRow } from "./report.js";
import { nowMs, rate, roundDeep, Samples, type LatencySummary } from "./stats.js";

const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const SERVING_DNS = /"dnsPort":(\d+),[^\n]*"msg":"Serving DNS"/;
const RESPONDER_PORT = /responder port (\d+)/;

export const dnsBenchFlags = {
  services: { type: "number", min: 1, help: "Services in the cluster (default 1000; --quick 100)" },
  queries: { type: "number", min: 100, help: "queries per figure (default 20000; --quick 2000)" },
  concurrency: { type: "number", min: 1, help: "queries in flight from the one client (default 16)" },
  quick: { type: "boolean", help: "small numbers for a smoke run (< 30 s)" },
  help: { type: "boolean", help: "print this help" },
} satisfies Record<string, FlagSpec>;

interface DnsBenchConfig {
  services: number;
  queries: number;
  concurrency: number;
  quick: boolean;
}

function dnsBenchConfig(argv: readonly string[]): DnsBenchConfig | "help" {
  const f = parseFlags(dnsBenchFlags, argv);
  if (f.help) return "help";
  const quick = f.quick ?? false;
  return { services: f.services ?? (quick ? 100 : 1000), queries: f.queries ?? (quick ? 2000 : 20000), concurrency: f.concurrency ?? 16, quick };
}

function usage(): string {
  return `usage: npm run bench -- dns [flags]\n\n${flagsHelp(dnsBenchFlags)}`;
}

/**
 * A bare responder on loopback in a process of its own (so it does not share the client's event loop): the
 * reference, and the upstream the server forwards to. Names starting "cached." get TTL 60, others TTL 0.
 */
function responderComponent(): Component {
  const script = `
    const { default: dnsPacket } = await import(${JSON.stringify(join(REPO_ROOT, "node_modules", "dns-packet", "index.js"))});
    const { createSocket } = await import("node:dgram");
    const socket = createSocket("udp4");
    socket.on("message", (message, from) => {
      const query = dnsPacket.decode(message);
      const question = query.questions[0];
      const ttl = question.name.startsWith("cached.") ? 60 : 0;
      const answers = [{ type: "A", name: question.name, ttl, class: "IN", data: "192.0.2.1" }];
      socket.send(dnsPacket.encode({ type: "response", id: query.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: query.questions, answers }), from.port, from.address);
    });
    socket.bind(0, "127.0.0.1", () => console.log("responder port " + socket.address().port));
  `;
  return {
    name: "dns-responder",
    // The reference responder stands where the DNS server would (the kind is only a label).
    kind: "cluster-dns",
    program: { kind: "binary", path: process.execPath },
    args: ["--input-type=module", "-e", script],
    ports: {},
    readiness: { kind: "log", pattern: RESPONDER_PORT },
    links: [],
  };
}

interface Figure {
  queries: number;
  lost: number;
  unexpected: number;
  qps: number;
  latencyMs: LatencySummary;
}

/** One client socket asking `name(i)` `total` times with `concurrency` in flight; a query unanswered in 2 s is lost. */
async function measure(port: number, total: number, concurrency: number, name: (i: number) => string, expectedRcode: number): Promise<Figure> {
  const socket: Socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const waiting = new Map<number, (rcode: number) => void>();
  socket.on("message", (message) => {
    const reply = dnsPacket.decode(message);
    waiting.get(reply.id ?? -1)?.((reply.flags ?? 0) & 0xf);
  });
  const samples = new Samples(total);
  let lost = 0;
  let unexpected = 0;
  let nextId = 0;
  const started = nowMs();
  await runPool(total, concurrency, async (i) => {
    let id = nextId++ & 0xffff;
    while (waiting.has(id)) id = nextId++ & 0xffff;
    const message = dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: name(i), type: "A", class: "IN" }] });
    const sent = nowMs();
    const rcode = await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => {
        resolve(undefined);
      }, 2000);
      waiting.set(id, (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      socket.send(message, port, "127.0.0.1");
    });
    waiting.delete(id);
    if (rcode === undefined) lost++;
    else {
      samples.add(nowMs() - sent);
      if (rcode !== expectedRcode) unexpected++;
    }
  });
  const elapsed = nowMs() - started;
  socket.close();
  return { queries: total, lost, unexpected, qps: rate(total - lost, elapsed), latencyMs: samples.summary() };
}

export async function runDnsBench(argv: readonly string[]): Promise<number> {
  const config = configOrExitCode(argv, dnsBenchConfig, usage);
  if ("exitCode" in config) return config.exitCode;
  try {
    progress("starting etcd and the apiserver…");
    const etcd = await startBenchEtcd();
    const apiserver = await startBenchApiServer(etcd.endpoint, ["--advertise-address", "172.30.0.1"]);
    const client = new RestClient({ server: apiserver.url, namespace: "default" }, { qps: 0 });
    onCleanup("close the client", () => {
      client.close();
    });
    progress(`creating ${config.services} Services…`);
    await runPool(config.services, 32, async (i) => {
      await client.create<Service>(SERVICES, "default", { apiVersion: "v1", kind: "Service", metadata: { name: `svc-${i}`, namespace: "default" }, spec: { ports: [{ name: "http", port: 80 }], selector: { app: `a${i}` } } });
    });
    const responderProcess = startBenchComponent(responderComponent());
    await responderProcess.waitReady({ timeoutMs: 30_000 });
    const responder = { port: Number(RESPONDER_PORT.exec(responderProcess.logs())![1]) };
    const component: Component = {
      name: "kubelab-dns",
      kind: "cluster-dns",
      program: { kind: "node", entry: join(REPO_ROOT, "dist", "cluster-dns", "main.js") },
      args: [`--master=${apiserver.url}`, "--dns-bind-address=127.0.0.1", "--dns-port=0", "--health-port=0", "--readiness-port=0", "--metrics-port=0", `--upstream=127.0.0.1:${responder.port}`],
      ports: {},
      readiness: { kind: "log", pattern: SERVING_DNS },
      links: [],
    };
    const dns = startBenchComponent(component);
    await dns.waitReady({ timeoutMs: 60_000 });
    const port = Number(SERVING_DNS.exec(dns.logs())![1]);
    const pick = (i: number): number => (i * 7919) % config.services;
    const { queries: n, concurrency: c } = config;

    progress("measuring…");
    // Warm-up rounds, then the figures.
    await measure(responder.port, Math.min(1000, n), c, (i) => `warm-${i}.example`, 0);
    await measure(port, Math.min(1000, n), c, (i) => `svc-${pick(i)}.default.svc.cluster.local`, 0);
    const figures = {
      reference: await measure(responder.port, n, c, (i) => `ref-${i}.example`, 0),
      serviceA: await measure(port, n, c, (i) => `svc-${pick(i)}.default.svc.cluster.local`, 0),
      searchPathNxdomain: await measure(port, n, c, (i) => `svc-${pick(i)}.default.svc.cluster.local.default.svc.cluster.local`, 3),
      forwarded: await measure(port, n, c, (i) => `uncached-${i}.example`, 0),
      forwardedCached: await measure(port, n, c, (i) => `cached.${i % 100}.example`, 0),
    };
    const memory = processMemory(dns.pid);

    const rows: ReportRow[] = [];
    const labels: Record<keyof typeof figures, string> = {
      reference: "bare responder (reference)",
      serviceA: "Service A record",
      searchPathNxdomain: "search-path miss (NXDOMAIN)",
      forwarded: "forwarded, TTL 0 (upstream every time)",
      forwardedCached: "forwarded, from the cache",
    };
    for (const [key, figure] of Object.entries(figures) as [keyof typeof figures, Figure][]) {
      const ratio = key === "reference" ? "" : `${fmt((figure.qps / figures.reference.qps) * 100, 0)}% of the reference`;
      rows.push({ section: labels[key], figure: "queries/s", value: fmt(figure.qps, 0), reference: ratio });
      rows.push({ section: labels[key], figure: "latency p50 / p99", value: `${fmt(figure.latencyMs.p50, 2)} / ${fmt(figure.latencyMs.p99, 2)} ms` });
      if (figure.lost > 0 || figure.unexpected > 0) rows.push({ section: labels[key], figure: "lost / wrong rcode", value: `${figure.lost} / ${figure.unexpected}`, verdict: "MISS" });
    }
    rows.push({ section: "kubelab-dns", figure: "RSS", value: fmtBytes(memory.rssBytes) });
    process.stdout.write(`\n${renderTable(`kubelab dns bench${config.quick ? " (--quick)" : ""}: ${config.services} Services, ${n} queries per figure, ${c} in flight`, rows)}\n\n`);
    process.stdout.write(`${jsonLine(roundDeep({ config, figures, rssBytes: memory.rssBytes }))}\n`);
    const failed = Object.values(figures).some((f) => f.lost > f.queries / 100 || f.unexpected > 0);
    return failed ? 1 : 0;
  } finally {
    await runCleanups();
  }
}
