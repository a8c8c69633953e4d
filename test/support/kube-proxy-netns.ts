// A throwaway network namespace standing for a node, for kube-proxy's integration tests: its iptables and conntrack
// are the namespace's own, so the host's rules are never touched, and deleting the namespace removes everything.
// Inside: loopback, a veth whose addresses 10.244.1.5 and 10.244.1.6 stand for two pods (an endpoint server
// answers on both: TCP 8080 with "address:port", UDP 5353 likewise), a default route through it (so Service IPs
// are routable and reach the OUTPUT chain), and the apiserver at 127.0.0.1:16443 (http or https, as the host-side
// apiserver speaks: the relay is plain TCP, through a unix socket to the host's namespace, so TLS and client
// certificates pass through it untouched; the serving certificate names 127.0.0.1). Two rules of "someone else's" are there too, for kube-proxy to leave alone.
// A second namespace is a pod on that node: 10.244.2.20 on a veth routed from the node (10.244.2.1 on the node's
// side), forwarding on, where a server on 8080 answers "address:port from <client address>" — traffic from it
// takes the PREROUTING/FORWARD paths, and a Service pointing back at it shows hairpin traffic.
// Everything is registered with testProcesses, so it is torn down even when a test fails.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect as connectTcp, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { EndpointSlice } from "../../api/types/discovery.js";
import { REPO_ROOT } from "./apiserver.js";
import { removeDir } from "../../lab/process/owner.js";
import { testProcesses } from "./processes.js";

const run = promisify(execFile);

/** The apiserver's address inside the namespace, for an insecure (plain HTTP) apiserver. */
export const NETNS_APISERVER = "http://127.0.0.1:16443";

/** The apiserver's address inside the namespace for a host-side apiserver at `apiserverUrl` (its scheme kept). */
export function netnsApiserverUrl(apiserverUrl: string): string {
  return `${new URL(apiserverUrl).protocol}//127.0.0.1:16443`;
}

const POD_SERVER = `
const net = require("node:net");
net.createServer((s) => { s.end(s.localAddress + ":" + s.localPort + " from " + s.remoteAddress + "\\n"); }).listen(8080, "10.244.2.20");
setTimeout(() => console.log("listening"), 200);
`;

const SERVER = `
const net = require("node:net");
const dgram = require("node:dgram");
for (const host of ["10.244.1.5", "10.244.1.6"]) {
  net.createServer((s) => { s.end(s.localAddress + ":" + s.localPort + "\\n"); }).listen(8080, host);
  const udp = dgram.createSocket("udp4");
  udp.on("message", (_msg, from) => { udp.send(host + ":5353", from.port, from.address); });
  udp.bind(5353, host);
}
net.createServer((c) => {
  const u = net.connect(process.argv[1]);
  c.pipe(u).pipe(c);
  c.on("error", () => u.destroy());
  u.on("error", () => c.destroy());
}).listen(16443, "127.0.0.1");
setTimeout(() => console.log("listening"), 200);
`;

/** Prints the answer, "refused", "timeout" or the error code. */
const TCP_CLIENT = `
const net = require("node:net");
const [host, port, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
let data = "";
const t = setTimeout(() => { console.log("timeout"); process.exit(0); }, Number(ms));
s.on("data", (d) => { data += d; });
s.on("end", () => { clearTimeout(t); console.log(data.trim() || "closed"); process.exit(0); });
s.on("error", (e) => { clearTimeout(t); console.log(e.code === "ECONNREFUSED" ? "refused" : e.code); process.exit(0); });
`;

/** One datagram from a fixed source port (so conntrack sees the same flow each time); prints the answer. */
const UDP_CLIENT = `
const dgram = require("node:dgram");
const [host, port, sport] = process.argv.slice(1);
const s = dgram.createSocket("udp4");
const t = setTimeout(() => { console.log("timeout"); process.exit(0); }, 2000);
s.on("message", (m) => { clearTimeout(t); console.log(String(m)); process.exit(0); });
s.bind(Number(sport), () => { s.send("q", Number(port), host); });
`;

export interface BinaryProcess {
  readonly process: ChildProcess;
  logs(): string;
  readonly exited: Promise<number | null>;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export class NetnsHost {
  /** Its teardown steps, newest first when run. */
  private readonly teardown: (() => Promise<void>)[] = [];

  /** The pod's namespace. */
  readonly pod: string;

  private constructor(readonly name: string) {
    this.pod = `${name}-pod`;
  }

  /** Stops what it started and deletes the namespace (its rules and conntrack entries vanish with it). */
  async destroy(): Promise<void> {
    for (const step of this.teardown.splice(0).reverse()) await step();
  }

  /** Creates the namespace and its endpoint server; `apiserverUrl` is the host-side apiserver to relay to. */
  static async start(apiserverUrl: string): Promise<NetnsHost> {
    const host = new NetnsHost(`kproxy-${randomBytes(3).toString("hex")}`);
    execFileSync("ip", ["netns", "add", host.name]);
    host.teardown.push(testProcesses.onTeardown(`delete netns ${host.name}`, () => {
      execFileSync("ip", ["netns", "delete", host.name]);
    }));
    host.exec("ip", "link", "set", "lo", "up");
    // A veth pair (dummy interfaces need a module this kernel may lack); the peer just has to be up.
    host.exec("ip", "link", "add", "kp0", "type", "veth", "peer", "name", "kp1");
    host.exec("ip", "link", "set", "kp1", "up");
    host.exec("ip", "addr", "add", "10.244.1.5/24", "dev", "kp0");
    host.exec("ip", "addr", "add", "10.244.1.6/24", "dev", "kp0");
    host.exec("ip", "link", "set", "kp0", "up");
    host.exec("ip", "route", "add", "default", "dev", "kp0");
    execFileSync("ip", ["netns", "add", host.pod]);
    host.teardown.push(testProcesses.onTeardown(`delete netns ${host.pod}`, () => {
      execFileSync("ip", ["netns", "delete", host.pod]);
    }));
    host.exec("sysctl", "-qw", "net.ipv4.ip_forward=1");
    host.exec("ip", "link", "add", "kpp0", "type", "veth", "peer", "name", "eth0", "netns", host.pod);
    host.exec("ip", "addr", "add", "10.244.2.1/24", "dev", "kpp0");
    host.exec("ip", "link", "set", "kpp0", "up");
    host.inPod("ip", "link", "set", "lo", "up");
    host.inPod("ip", "addr", "add", "10.244.2.20/24", "dev", "eth0");
    host.inPod("ip", "link", "set", "eth0", "up");
    host.inPod("ip", "route", "add", "default", "via", "10.244.2.1");
    host.exec("iptables", "-t", "nat", "-N", "KUBELAB-OTHER");
    host.exec("iptables", "-t", "nat", "-A", "OUTPUT", "-d", "192.0.2.99/32", "-j", "KUBELAB-OTHER");
    host.exec("iptables", "-t", "filter", "-N", "KUBE-KUBELET-CANARY");
    host.exec("iptables", "-t", "filter", "-A", "INPUT", "-s", "192.0.2.98/32", "-j", "ACCEPT");

    const dir = testProcesses.tempDir("kproxy-", tmpdir());
    host.teardown.push(() => {
      removeDir(dir);
      return Promise.resolve();
    });
    const apiSocket = join(dir, "apiserver.sock");
    const api = new URL(apiserverUrl);
    const apiPort = Number(api.port);
    const apiHost = api.hostname.replace(/^\[|\]$/g, "");
    const relay = createServer((c) => {
      const t = connectTcp(apiPort, apiHost === "localhost" ? "127.0.0.1" : apiHost);
      c.pipe(t).pipe(c);
      c.on("error", () => t.destroy());
      t.on("error", () => c.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(apiSocket, resolve));
    host.teardown.push(
      testProcesses.onTeardown("close the apiserver relay", () => {
        relay.close();
      }),
    );
    const server = spawn("ip", ["netns", "exec", host.name, process.execPath, "-e", SERVER, apiSocket], { stdio: ["ignore", "pipe", "inherit"] });
    host.teardown.push(
      testProcesses.onTeardown("stop the endpoint server", () => {
        server.kill("SIGKILL");
      }),
    );
    const podServer = spawn("ip", ["netns", "exec", host.pod, process.execPath, "-e", POD_SERVER], { stdio: ["ignore", "pipe", "inherit"] });
    host.teardown.push(
      testProcesses.onTeardown("stop the pod's server", () => {
        podServer.kill("SIGKILL");
      }),
    );
    await Promise.all([server, podServer].map((child) =>
      new Promise<void>((resolve, reject) => {
        child.stdout.once("data", () => {
          resolve();
        });
        child.once("exit", (code) => {
          reject(new Error(`endpoint server exited ${String(code)}`));
        });
      }),
    ));
    return host;
  }

  /** Runs a command inside the namespace; returns its stdout, throws on failure. */
  exec(...args: string[]): string {
    return execFileSync("ip", ["netns", "exec", this.name, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** Runs a command inside the pod's namespace. */
  inPod(...args: string[]): string {
    return execFileSync("ip", ["netns", "exec", this.pod, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** A TCP connect from the pod (through the node: PREROUTING, FORWARD); answers like connect. */
  async connectFromPod(host: string, port: number, ms = 2000): Promise<string> {
    const { stdout } = await run("ip", ["netns", "exec", this.pod, process.execPath, "-e", TCP_CLIENT, host, String(port), String(ms)], { encoding: "utf8" });
    return stdout.trim();
  }

  iptablesSave(): string {
    return this.exec("iptables-save");
  }

  /** A TCP connect from inside: the answer, "refused", "timeout", "closed" or an error code. */
  async connect(host: string, port: number, ms = 2000): Promise<string> {
    const { stdout } = await run("ip", ["netns", "exec", this.name, process.execPath, "-e", TCP_CLIENT, host, String(port), String(ms)], { encoding: "utf8" });
    return stdout.trim();
  }

  /** A UDP exchange from inside, from `sourcePort`: the answer or "timeout". */
  async udpQuery(host: string, port: number, sourcePort: number): Promise<string> {
    const { stdout } = await run("ip", ["netns", "exec", this.name, process.execPath, "-e", UDP_CLIENT, host, String(port), String(sourcePort)], { encoding: "utf8" });
    return stdout.trim();
  }

  /** Runs dist/kube-proxy/main.js inside the namespace (build first). */
  startKubeProxy(args: readonly string[]): BinaryProcess {
    const child = spawn("ip", ["netns", "exec", this.name, process.execPath, join(REPO_ROOT, "dist/kube-proxy/main.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const kill = testProcesses.onTeardown("stop kube-proxy", () => {
      child.kill("SIGKILL");
    });
    return {
      process: child,
      logs: () => log,
      exited,
      async stop(signal: NodeJS.Signals = "SIGTERM") {
        child.kill(signal);
        const code = await exited;
        await kill();
        return code;
      },
    };
  }
}

/** An IPv4 EndpointSlice of `service` in default with one port (default http/TCP/8080). */
export function endpointSlice(name: string, service: string, endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean }[], opts: { triggerTime?: string; port?: { name?: string; protocol?: "TCP" | "UDP"; port?: number } } = {}): EndpointSlice {
  const port = opts.port ?? {};
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace: "default",
      labels: { "kubernetes.io/service-name": service },
      ...(opts.triggerTime ? { annotations: { "endpoints.kubernetes.io/last-change-trigger-time": opts.triggerTime } } : {}),
    },
    addressType: "IPv4",
    ports: [{ name: port.name ?? "http", protocol: port.protocol ?? "TCP", port: port.port ?? 8080 }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false } })),
  };
}
