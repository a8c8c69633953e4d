import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { StatusError } from "../api/errors.js";
import type { Node, Pod } from "../api/types/index.js";
import { createCertificateAuthority, issueCertificate } from "../component-base/pki/certificates.js";
import { createKubeletProxy, kubeletBaseUrl, kubeletClientTls, kubeletFailure, kubeletLogQuery, kubeletStreamQuery, resolveContainer } from "./kubelet-proxy.js";

function pod(containers: string[], inits: string[] = []): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default" }, spec: { containers: containers.map((name) => ({ name, image: "x" })), initContainers: inits.map((name) => ({ name, image: "x" })) } };
}

describe("the kubelet proxy", () => {
  it("resolves the container as Kubernetes' LogLocation does", () => {
    expect(resolveContainer(pod(["a"]), null)).toBe("a");
    expect(resolveContainer(pod(["a", "b"]), "b")).toBe("b");
    expect(resolveContainer(pod(["a"], ["init"]), "init")).toBe("init");
    expect(() => resolveContainer(pod(["a", "b"]), null)).toThrow("a container name must be specified for pod web, choose one of: [a b]");
    expect(() => resolveContainer(pod(["a", "b"], ["i"]), "")).toThrow("a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [i]");
    expect(() => resolveContainer(pod(["a"]), "zz")).toThrow("container zz is not valid for pod web");
  });

  it("finds the kubelet at the node's InternalIP and kubelet port", () => {
    const node: Node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" }, status: { addresses: [{ type: "Hostname", address: "n1" }, { type: "InternalIP", address: "10.0.0.5" }], daemonEndpoints: { kubeletEndpoint: { Port: 10555 } } } };
    expect(kubeletBaseUrl(node).toString()).toBe("http://10.0.0.5:10555/");
    expect(kubeletBaseUrl({ ...node, status: { addresses: [{ type: "InternalIP", address: "10.0.0.6" }] } }).toString()).toBe("http://10.0.0.6:10250/");
    expect(() => kubeletBaseUrl({ ...node, status: {} })).toThrow("no preferred addresses found; known addresses: []");
  });

  it("passes log options on, validated", () => {
    expect(kubeletLogQuery("web", new URLSearchParams("container=a&follow=true&previous=false&tailLines=5&timestamps=true")).toString()).toBe("follow=true&timestamps=true&tailLines=5");
    expect(() => kubeletLogQuery("web", new URLSearchParams("tailLines=-1"))).toThrow('PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0');
    expect(() => kubeletLogQuery("web", new URLSearchParams("follow=maybe"))).toThrow("must be a boolean");
  });

  it("turns the kubelet's refusals into Kubernetes' Status objects", () => {
    expect(kubeletFailure(400, "previous terminated container \"a\" in pod \"web\" not found", "web").toStatus()).toMatchObject({ code: 400, reason: "BadRequest", message: 'previous terminated container "a" in pod "web" not found' });
    expect(kubeletFailure(404, 'pod "web" does not exist\n', "web").toStatus()).toMatchObject({ code: 404, reason: "NotFound", message: "the server could not find the requested resource ( pods/log web)", details: { kind: "pods/log", name: "web" } });
    expect(kubeletFailure(500, "boom", "web").toStatus()).toMatchObject({ code: 500, reason: "InternalError", message: "Internal error occurred: boom" });
    expect(kubeletFailure(502, "bad", "web").toStatus().message).toBe('an error on the server ("bad") has prevented the request from succeeding ( pods/log web)');
    expect(kubeletFailure(403, "", "web").toStatus().reason).toBeUndefined();
  });

  it("renames the stream options to the kubelet's", () => {
    expect(kubeletStreamQuery(new URLSearchParams("command=echo&command=hi&container=a&stdin=true&stdout=true&stderr=true&tty=false"), true).toString()).toBe("input=1&output=1&error=1&command=echo&command=hi");
    expect(kubeletStreamQuery(new URLSearchParams("command=x&stdout=true"), false).toString()).toBe("output=1");
  });
});

describe("the kubelet proxy over HTTPS with the apiserver's kubelet-client certificate", () => {
  it("presents its certificate, verifies the kubelet against the CA, and keeps the client's credentials", async () => {
    const ca = await createCertificateAuthority("kubeletauth-proxy-ca");
    const other = await createCertificateAuthority("kubeletauth-proxy-other");
    const serving = await issueCertificate(ca, { commonName: "n1", ipAddresses: ["127.0.0.1"], usage: "server" });
    const clientCert = await issueCertificate(ca, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], usage: "client" });
    const seen: { user: string; authorization: string | undefined; impersonate: string | undefined }[] = [];
    const kubelet = createHttpsServer({ cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const socket = req.socket;
      seen.push({ user: socket instanceof TLSSocket && socket.authorized ? String(socket.getPeerCertificate().subject.CN) : "", authorization: req.headers.authorization, impersonate: req.headers["impersonate-user"]?.toString() });
      res.end("proxied");
    });
    await new Promise<void>((resolve) => kubelet.listen(0, "127.0.0.1", resolve));
    const node: Node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" }, status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: (kubelet.address() as AddressInfo).port } } } };
    const front = (caPem: string) => {
      const proxy = createKubeletProxy({ getNode: () => Promise.resolve(node), tls: { certPem: clientCert.certPem, keyPem: clientCert.keyPem, caPem } });
      return createServer((req, res) => {
        proxy.nodeProxy(node, "pods", new URLSearchParams(), req, res).catch((err: unknown) => {
          res.writeHead(err instanceof StatusError ? err.code : 500).end(err instanceof Error ? err.message : String(err));
        });
      });
    };
    const servers = [front(ca.certPem), front(other.certPem)];
    try {
      const urls: string[] = [];
      for (const s of servers) {
        await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
        urls.push(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`);
      }
      const ok = await fetch(urls[0]!, { headers: { authorization: "Bearer user-token", "impersonate-user": "mallory" } });
      expect([ok.status, await ok.text()]).toEqual([200, "proxied"]);
      expect(seen).toEqual([{ user: "kube-apiserver-kubelet-client", authorization: undefined, impersonate: undefined }]);
      const unverified = await fetch(urls[1]!);
      expect(unverified.status).toBe(503);
      expect(await unverified.text()).toMatch(/^error trying to reach service: .*certificate/);
      expect(seen).toHaveLength(1);
    } finally {
      for (const s of [...servers, kubelet]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => { resolve(); }));
      }
    }
  });

  it("needs --kubelet-client-certificate and --kubelet-client-key together", () => {
    expect(kubeletClientTls({})).toEqual({});
    expect(() => kubeletClientTls({ kubeletClientCertificate: "/x.crt" })).toThrow("--kubelet-client-certificate and --kubelet-client-key must be given together");
  });
});
