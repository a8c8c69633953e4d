import type { AddressInfo } from "node:net";
import { request as httpsRequest, createServer, type Server } from "node:https";
import type { OutgoingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "./pki/certificates.js";
import { RequestHeaderAuthenticator, setAuthProxyHeaders, userFromHeaders, type RequestHeaderConfig, type RequestHeaderResult } from "./requestheader.js";

const HEADERS = { usernameHeaders: ["X-Remote-User"], groupHeaders: ["X-Remote-Group"], extraHeadersPrefixes: ["X-Remote-Extra-"] };

/** A TLS server trusting both CAs (as the apiserver does) that answers with what the authenticator made of the request. */
async function serve(config: RequestHeaderConfig, otherCaPem: string, serving: CertificateAndKey): Promise<{ server: Server; port: number }> {
  const authenticator = new RequestHeaderAuthenticator(config);
  const server = createServer({ cert: serving.certPem, key: serving.keyPem, ca: [config.clientCaPem, otherCaPem], requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const result: RequestHeaderResult = authenticator.authenticate(req);
    const left = Object.keys(req.headers).filter((name) => name.startsWith("x-remote-"));
    res.end(JSON.stringify({ result: result ?? null, left }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function ask(port: number, ca: string, client: CertificateAndKey | undefined, headers: OutgoingHttpHeaders): Promise<{ result: RequestHeaderResult | null; left: string[] }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path: "/", ca, headers, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => { resolve(JSON.parse(body) as { result: RequestHeaderResult | null; left: string[] }); });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("RequestHeaderAuthenticator", () => {
  let proxyCa: CertificateAndKey;
  let clusterCa: CertificateAndKey;
  let proxyClient: CertificateAndKey;
  let otherProxyName: CertificateAndKey;
  let clusterClient: CertificateAndKey;
  let serving: CertificateAndKey;
  const servers: Server[] = [];
  let strict: number;
  let anyName: number;

  beforeAll(async () => {
    [proxyCa, clusterCa] = await Promise.all([createCertificateAuthority("front-proxy-ca"), createCertificateAuthority("kubernetes")]);
    [proxyClient, otherProxyName, clusterClient, serving] = await Promise.all([
      issueCertificate(proxyCa, { commonName: "front-proxy-client", usage: "client" }),
      issueCertificate(proxyCa, { commonName: "someone-else", usage: "client" }),
      // The right CN, from the wrong CA: a user of the cluster CA must not assert other users.
      issueCertificate(clusterCa, { commonName: "front-proxy-client", usage: "client" }),
      issueCertificate(clusterCa, { commonName: "server", usage: "server", ipAddresses: ["127.0.0.1"] }),
    ]);
    const a = await serve({ clientCaPem: proxyCa.certPem, allowedNames: ["front-proxy-client"], ...HEADERS }, clusterCa.certPem, serving);
    const b = await serve({ clientCaPem: proxyCa.certPem, allowedNames: [], ...HEADERS }, clusterCa.certPem, serving);
    servers.push(a.server, b.server);
    strict = a.port;
    anyName = b.port;
  });
  afterAll(() => {
    for (const server of servers) server.close();
  });

  it("takes the user, groups and extras from the headers of an allowed front proxy, and clears those headers", async () => {
    const headers: OutgoingHttpHeaders = {};
    setAuthProxyHeaders(headers, { username: "alice", groups: ["devs", "system:authenticated"], extra: { "authentication.kubernetes.io/credential-id": ["X509SHA256=ab"], scopes: ["a", "b"] } });
    const answer = await ask(strict, clusterCa.certPem, proxyClient, headers);
    expect(answer.result).toEqual({ user: { username: "alice", groups: ["devs", "system:authenticated"], extra: { "authentication.kubernetes.io/credential-id": ["X509SHA256=ab"], scopes: ["a", "b"] } } });
    expect(answer.left).toEqual([]);
  });

  it("refuses a certificate of another CA, even with an allowed CN, and leaves its headers alone", async () => {
    const answer = await ask(strict, clusterCa.certPem, clusterClient, { "X-Remote-User": "mallory", "X-Remote-Group": "system:masters" });
    expect(answer.result).toEqual({ error: expect.stringMatching(/x509: certificate signed by unknown authority$/) as unknown });
    expect(answer.left.sort()).toEqual(["x-remote-group", "x-remote-user"]);
  });

  it("refuses a front-proxy CA certificate whose CN is not an allowed name", async () => {
    const answer = await ask(strict, clusterCa.certPem, otherProxyName, { "X-Remote-User": "alice" });
    expect(answer.result).toEqual({ error: "x509: subject with cn=someone-else is not in the allowed list" });
  });

  it("accepts any CN the CA signed when no allowed names are configured", async () => {
    const answer = await ask(anyName, clusterCa.certPem, otherProxyName, { "X-Remote-User": "alice" });
    expect(answer.result).toEqual({ user: { username: "alice", groups: [], extra: {} } });
  });

  it("has no opinion without a username header or without a client certificate", async () => {
    expect((await ask(strict, clusterCa.certPem, proxyClient, { "X-Remote-Group": "devs" })).result).toBeNull();
    expect((await ask(strict, clusterCa.certPem, undefined, { "X-Remote-User": "alice" })).result).toBeNull();
  });

  it("takes each repeated header line as one value and the first non-empty username header", () => {
    expect(userFromHeaders({ "x-user-a": [""], "x-user-b": ["bob", "eve"], "x-group": ["a,b", "c"] }, { usernameHeaders: ["X-User-A", "X-User-B"], groupHeaders: ["X-Group"], extraHeadersPrefixes: [] })).toEqual({ username: "bob", groups: ["a,b", "c"], extra: {} });
  });
});

describe("setAuthProxyHeaders", () => {
  it("drops any X-Remote-* header the client sent and %-encodes extra keys", () => {
    const headers: OutgoingHttpHeaders = { "x-remote-user": "mallory", "X-Remote-Group": "system:masters", "x-remote-extra-scopes": "all", accept: "application/json" };
    setAuthProxyHeaders(headers, { username: "alice", groups: [], extra: { "a/b c": ["1"] } });
    expect(headers).toEqual({ accept: "application/json", "X-Remote-User": "alice", "X-Remote-Extra-a%2Fb%20c": ["1"] });
  });
});
