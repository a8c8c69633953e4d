// The probe handlers against real servers on 127.0.0.1: node:http/https servers, a TCP listener and a gRPC health
// server built with @grpc/grpc-js. Timeouts are driven by a FakeClock stepped before the network can answer.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server as GrpcServer, ServerCredentials, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CriError } from "../../../client/cri/errors.js";
import type * as cri from "../../../client/cri/types.js";
import { realClock } from "../../../component-base/clock.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { execProbe, expandCommand, type ExecRuntime } from "./exec.js";
import { grpcProbe } from "./grpc.js";
import { healthCheckMethod, type HealthCheckRequest, type HealthCheckResponse } from "./grpc-health.js";
import { httpProbe, MAX_RESPONSE_BODY_BYTES, probeHeaders, probeUrl, type HttpProbeTarget } from "./http.js";
import { goCodeName } from "../../../client/cri/errors.js";
import { goDuration, ProbeError } from "./outcome.js";
import { tcpProbe } from "./tcp.js";

function listen(server: http.Server | https.Server | TcpServer, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: http.Server | https.Server | TcpServer): Promise<void> {
  return new Promise((resolve) => {
    if ("closeAllConnections" in server) server.closeAllConnections();
    server.close(() => {
      resolve();
    });
  });
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await close(server);
  return port;
}

describe("httpGet probes", () => {
  let server: http.Server;
  let port: number;
  const seen: http.IncomingHttpHeaders[] = [];

  const target = (path: string, extra: Partial<HttpProbeTarget> = {}): HttpProbeTarget => ({ scheme: "HTTP", host: "127.0.0.1", port, path, headers: [], ...extra });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      const url = new URL(req.url ?? "/", "http://x");
      switch (url.pathname) {
        case "/ok":
          res.end("fine");
          return;
        case "/fail":
          res.statusCode = 500;
          res.end("broken");
          return;
        case "/not-found":
          res.statusCode = 404;
          res.end();
          return;
        case "/redirect-local":
          res.writeHead(302, { location: "/ok" });
          res.end();
          return;
        case "/redirect-absolute-local":
          res.writeHead(301, { location: `http://127.0.0.1:${String(port)}/fail` });
          res.end();
          return;
        case "/redirect-away":
          // Same server, another host name: Kubernetes does not follow it.
          res.writeHead(307, { location: `http://localhost:${String(port)}/ok` });
          res.end("moved");
          return;
        case "/loop":
          res.writeHead(302, { location: "/loop" });
          res.end();
          return;
        case "/big":
          res.end("x".repeat(3 * MAX_RESPONSE_BODY_BYTES));
          return;
        case "/hang":
          return;
        default:
          res.statusCode = 400;
          res.end();
      }
    });
    port = await listen(server);
  });

  afterAll(async () => {
    await close(server);
  });

  it("succeeds on 200 with the body as output and fails on 4xx/5xx with Kubernetes' message", async () => {
    expect(await httpProbe(target("/ok"), 1000, realClock)).toEqual({ result: "Success", output: "fine" });
    expect(await httpProbe(target("/fail"), 1000, realClock)).toEqual({ result: "Failure", output: "HTTP probe failed with statuscode: 500" });
    expect(await httpProbe(target("/not-found"), 1000, realClock)).toEqual({ result: "Failure", output: "HTTP probe failed with statuscode: 404" });
  });

  it("sends kube-probe's User-Agent and Accept, the probe's headers, and a Host override", async () => {
    seen.length = 0;
    await httpProbe(target("/ok"), 1000, realClock);
    expect(seen[0]).toMatchObject({ "user-agent": "kube-probe/1.32", accept: "*/*", connection: "close" });
    expect(seen[0]?.["accept-encoding"]).toBeUndefined();

    seen.length = 0;
    const headers = [
      { name: "X-Custom", value: "a" },
      { name: "User-Agent", value: "mine" },
      { name: "Accept", value: "" },
      { name: "Host", value: "example.test" },
    ];
    await httpProbe(target("/ok", { headers }), 1000, realClock);
    expect(seen[0]).toMatchObject({ "x-custom": "a", "user-agent": "mine", host: "example.test" });
    expect(seen[0]?.accept).toBeUndefined();
  });

  it("follows redirects on the same host, and stops at one to another host with a warning", async () => {
    expect(await httpProbe(target("/redirect-local"), 1000, realClock)).toEqual({ result: "Success", output: "fine" });
    expect(await httpProbe(target("/redirect-absolute-local"), 1000, realClock)).toEqual({ result: "Failure", output: "HTTP probe failed with statuscode: 500" });
    expect(await httpProbe(target("/redirect-away"), 1000, realClock)).toEqual({ result: "Warning", output: "Probe terminated redirects, Response body: moved" });
    expect(await httpProbe(target("/loop"), 2000, realClock)).toEqual({
      result: "Failure",
      output: `Get "http://127.0.0.1:${String(port)}/loop": stopped after 10 redirects`,
    });
  });

  it("reads at most 10 KiB of the body", async () => {
    const outcome = await httpProbe(target("/big"), 1000, realClock);
    expect(outcome.result).toBe("Success");
    expect(outcome.output).toHaveLength(MAX_RESPONSE_BODY_BYTES);
  });

  it("fails a refused connection and a timeout with Go's errors", async () => {
    const refused = await closedPort();
    expect(await httpProbe({ ...target("/ok"), port: refused }, 1000, realClock)).toEqual({
      result: "Failure",
      output: `Get "http://127.0.0.1:${String(refused)}/ok": dial tcp 127.0.0.1:${String(refused)}: connect: connection refused`,
    });
    const clock = new FakeClock();
    const pending = httpProbe(target("/hang"), 1000, clock);
    clock.step(1000);
    expect(await pending).toEqual({
      result: "Failure",
      output: `Get "http://127.0.0.1:${String(port)}/hang": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
    });
  });

  it("formats the URL and the headers as Kubernetes does", () => {
    expect(probeUrl({ scheme: "HTTPS", host: "fd00::5", port: 8443, path: "healthz?x=1", headers: [] })).toBe("https://[fd00::5]:8443/healthz?x=1");
    expect(probeHeaders([{ name: "X-A", value: "1" }, { name: "x-a", value: "2" }])).toEqual({ connection: "close", "x-a": ["1", "2"], "user-agent": "kube-probe/1.32", accept: "*/*" });
  });
});

describe("httpGet probes over HTTPS", () => {
  let dir: string;
  let server: https.Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kprobe-tls-"));
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=not-this-host"], { stdio: "ignore" });
    server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      res.statusCode = req.url === "/ok" ? 200 : 503;
      res.end("tls");
    });
    port = await listen(server);
  });

  afterAll(async () => {
    await close(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it("does not verify the server's certificate", async () => {
    const target = { scheme: "HTTPS" as const, host: "127.0.0.1", port, path: "/ok", headers: [] };
    expect(await httpProbe(target, 2000, realClock)).toEqual({ result: "Success", output: "tls" });
    expect(await httpProbe({ ...target, path: "/down" }, 2000, realClock)).toEqual({ result: "Failure", output: "HTTP probe failed with statuscode: 503" });
  });
});

describe("tcpSocket probes", () => {
  it("succeeds when a connection opens, fails refused and timed-out dials with Go's errors", async () => {
    const server = createTcpServer((socket) => socket.destroy());
    const port = await listen(server);
    try {
      expect(await tcpProbe("127.0.0.1", port, 1000, realClock)).toEqual({ result: "Success", output: "" });
      const clock = new FakeClock();
      const pending = tcpProbe("127.0.0.1", port, 1000, clock);
      clock.step(1000);
      expect(await pending).toEqual({ result: "Failure", output: `dial tcp 127.0.0.1:${String(port)}: i/o timeout` });
    } finally {
      await close(server);
    }
    const refused = await closedPort();
    expect(await tcpProbe("127.0.0.1", refused, 1000, realClock)).toEqual({
      result: "Failure",
      output: `dial tcp 127.0.0.1:${String(refused)}: connect: connection refused`,
    });
  });
});

describe("grpc probes", () => {
  let server: GrpcServer;
  let bare: GrpcServer;
  let port: number;
  let barePort: number;
  const userAgents: string[] = [];

  const bind = (s: GrpcServer): Promise<number> =>
    new Promise((resolve, reject) => {
      s.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => {
        if (err) reject(err);
        else resolve(p);
      });
    });

  beforeAll(async () => {
    server = new GrpcServer();
    const statuses: Record<string, string> = { "": "SERVING", db: "NOT_SERVING" };
    server.addService(
      { Check: healthCheckMethod },
      {
        Check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>) => {
          userAgents.push(String(call.metadata.get("user-agent")[0] ?? ""));
          const status = statuses[call.request.service];
          if (status === undefined) callback({ code: GrpcStatus.NOT_FOUND, details: "unknown service" });
          else callback(null, { status });
        },
      },
    );
    port = await bind(server);
    bare = new GrpcServer();
    barePort = await bind(bare);
  });

  afterAll(() => {
    server.forceShutdown();
    bare.forceShutdown();
  });

  it("checks grpc.health.v1.Health with the service name: SERVING succeeds, anything else fails", async () => {
    expect(await grpcProbe("127.0.0.1", port, "", 2000)).toEqual({ result: "Success", output: "service healthy" });
    expect(userAgents[0]).toContain("kube-probe/1.32");
    expect(await grpcProbe("127.0.0.1", port, "db", 2000)).toEqual({ result: "Failure", output: 'service unhealthy (responded with "NOT_SERVING")' });
    expect(await grpcProbe("127.0.0.1", port, "cache", 2000)).toEqual({
      result: "Failure",
      output: "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service",
    });
  });

  it("fails a server without the health service, and one it cannot connect to in time", async () => {
    const unimplemented = await grpcProbe("127.0.0.1", barePort, "", 2000);
    expect(unimplemented.result).toBe("Failure");
    expect(unimplemented.output).toMatch(/^error: this server does not implement the grpc health protocol \(grpc\.health\.v1\.Health\): /);
    const refused = await closedPort();
    expect(await grpcProbe("127.0.0.1", refused, "", 1000)).toEqual({
      result: "Failure",
      output: `timeout: failed to connect service "127.0.0.1:${String(refused)}" within 1s: context deadline exceeded`,
    });
  });
});

describe("exec probes", () => {
  const response = (exitCode: number, stdout = "", stderr = ""): cri.ExecSyncResponse => ({ stdout: Buffer.from(stdout), stderr: Buffer.from(stderr), exitCode });
  const runtime = (answer: () => Promise<cri.ExecSyncResponse>): ExecRuntime & { calls: unknown[][] } => {
    const calls: unknown[][] = [];
    return {
      calls,
      execSync: (id, cmd, timeout) => {
        calls.push([id, cmd, timeout]);
        return answer();
      },
    };
  };

  it("succeeds on exit code 0 and fails otherwise, with stdout and stderr as output", async () => {
    const ok = runtime(() => Promise.resolve(response(0, "up\n")));
    expect(await execProbe(ok, "c1", ["cat", "/tmp/healthy"], 3, realClock)).toEqual({ result: "Success", output: "up\n" });
    expect(ok.calls).toEqual([["c1", ["cat", "/tmp/healthy"], 3]]);
    const bad = runtime(() => Promise.resolve(response(1, "", "cat: can't open '/tmp/healthy': No such file or directory\n")));
    expect(await execProbe(bad, "c1", ["cat", "/tmp/healthy"], 1, realClock)).toEqual({
      result: "Failure",
      output: "cat: can't open '/tmp/healthy': No such file or directory\n",
    });
  });

  it("fails with Kubernetes' message when the command outlives the timeout or the runtime says DEADLINE_EXCEEDED", async () => {
    const clock = new FakeClock();
    const hang = runtime(() => new Promise<never>(() => undefined));
    const pending = execProbe(hang, "c1", ["sleep", "10"], 2, clock);
    clock.step(1999);
    await Promise.resolve();
    clock.step(1);
    expect(await pending).toEqual({ result: "Failure", output: 'command "sleep 10" timed out' });
    const deadline = runtime(() => Promise.reject(new CriError(GrpcStatus.DEADLINE_EXCEEDED, "timed out")));
    expect(await execProbe(deadline, "c1", ["sleep", "10"], 2, realClock)).toEqual({ result: "Failure", output: 'command "sleep 10" timed out' });
  });

  it("throws ProbeError for other runtime errors", async () => {
    const gone = runtime(() => Promise.reject(new CriError(GrpcStatus.NOT_FOUND, 'container "c1" not found')));
    const err: unknown = await execProbe(gone, "c1", ["true"], 1, realClock).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeError);
    expect((err as Error).message).toBe('rpc error: code = NotFound desc = container "c1" not found');
  });

  it("expands $(VAR) from literal env values only", () => {
    const env = [{ name: "PORT", value: "8080" }, { name: "FROM", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }];
    expect(expandCommand(["check", "$(PORT)", "$(FROM)", "$(NONE)", "$$(PORT)", "a$b"], env)).toEqual(["check", "8080", "$(FROM)", "$(NONE)", "$(PORT)", "a$b"]);
  });
});

describe("Go-shaped texts", () => {
  it("prints durations and status codes as Go does", () => {
    expect([goDuration(1000), goDuration(90_000), goDuration(3_600_000)]).toEqual(["1s", "1m30s", "1h0m0s"]);
    expect([goCodeName(GrpcStatus.NOT_FOUND), goCodeName(GrpcStatus.DEADLINE_EXCEEDED), goCodeName(GrpcStatus.OK)]).toEqual(["NotFound", "DeadlineExceeded", "OK"]);
  });
});
