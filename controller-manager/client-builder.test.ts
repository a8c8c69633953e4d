import { afterEach, describe, expect, it } from "vitest";
import { notFound } from "../api/errors.js";
import type { KubeObject } from "../api/meta.js";
import type { ResourceInfo } from "../api/resources.js";
import type { TokenRequest } from "../api/types/index.js";
import { FakeApiserver } from "../client/testing/fake-apiserver.js";
import { RestClient, type RawResponse } from "../client/rest.js";
import { defaultRegistry } from "./controllers/registry.js";
import { CONTROLLER_SERVICE_ACCOUNTS, ServiceAccountTokenSource, type ServiceAccountClient } from "./client-builder.js";

/** A client that knows which service accounts exist and answers TokenRequests with numbered tokens. */
class FakeTokenClient implements ServiceAccountClient {
  readonly calls: string[] = [];
  readonly accounts = new Set<string>();
  issued = 0;
  failTokens = false;

  constructor(
    private readonly clock: { now(): number },
    private readonly lifetimeSeconds = 3600,
  ) {}

  get<T extends KubeObject = KubeObject>(_info: ResourceInfo, namespace: string | undefined, name: string): Promise<T> {
    this.calls.push(`get ${namespace ?? ""}/${name}`);
    if (!this.accounts.has(`${namespace ?? ""}/${name}`)) return Promise.reject(notFound("serviceaccounts", name));
    return Promise.resolve({ metadata: { name, namespace } } as T);
  }

  create<T extends KubeObject = KubeObject>(_info: ResourceInfo, namespace: string | undefined, obj: T): Promise<T> {
    this.calls.push(`create ${namespace ?? ""}/${obj.metadata.name ?? ""}`);
    this.accounts.add(`${namespace ?? ""}/${obj.metadata.name ?? ""}`);
    return Promise.resolve(obj);
  }

  async raw(method: string, path: string, body?: unknown): Promise<RawResponse> {
    this.calls.push(`${method} ${path}`);
    await Promise.resolve();
    if (this.failTokens) throw notFound("serviceaccounts", "x");
    const request = body as TokenRequest;
    this.issued++;
    const lifetime = request.spec?.expirationSeconds ?? this.lifetimeSeconds;
    const expirationTimestamp = new Date(this.clock.now() + Math.min(lifetime, this.lifetimeSeconds) * 1000).toISOString();
    return { code: 201, headers: {}, body: { ...request, status: { token: `token-${this.issued}`, expirationTimestamp } } };
  }
}

describe("ServiceAccountTokenSource", () => {
  it("creates the missing account once, then keeps the token until a fifth of its lifetime is left", async () => {
    const clock = { t: Date.parse("2026-01-01T00:00:00Z"), now(): number { return this.t; } };
    const client = new FakeTokenClient(clock);
    const source = new ServiceAccountTokenSource(client, "kube-system", "replicaset-controller", clock);
    expect(await source.token()).toBe("token-1");
    expect(client.calls).toEqual(["get kube-system/replicaset-controller", "create kube-system/replicaset-controller", "POST /api/v1/namespaces/kube-system/serviceaccounts/replicaset-controller/token"]);
    clock.t += 47 * 60_000;
    expect(await source.token()).toBe("token-1");
    clock.t += 2 * 60_000;
    expect(await source.token()).toBe("token-2");
    expect(client.calls.slice(3)).toEqual(["get kube-system/replicaset-controller", "POST /api/v1/namespaces/kube-system/serviceaccounts/replicaset-controller/token"]);
  });

  it("follows the expiry the apiserver grants, shares one request among concurrent callers, and retries after a failure", async () => {
    const clock = { t: 0, now(): number { return this.t; } };
    const client = new FakeTokenClient(clock, 600);
    client.accounts.add("kube-system/node-controller");
    const source = new ServiceAccountTokenSource(client, "kube-system", "node-controller", clock);
    expect(await Promise.all([source.token(), source.token(), source.token()])).toEqual(["token-1", "token-1", "token-1"]);
    expect(client.issued).toBe(1);
    clock.t += 481_000;
    client.failTokens = true;
    await expect(source.token()).rejects.toThrow();
    client.failTokens = false;
    expect(await source.token()).toBe("token-2");
  });
});

describe("a RestClient with a token source", () => {
  let fake: FakeApiserver | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  it("sends the source's current token instead of the kubeconfig's", async () => {
    fake = await FakeApiserver.start();
    let current = "first";
    const client = new RestClient({ ...fake.clientConfig(), token: "kubeconfig-token" }, { tokenSource: { token: () => Promise.resolve(current) } });
    try {
      await client.raw("GET", "/api/v1/namespaces/default/pods");
      current = "second";
      await client.raw("GET", "/api/v1/namespaces/default/pods");
    } finally {
      client.close();
    }
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual(["Bearer first", "Bearer second"]);
  });
});

describe("CONTROLLER_SERVICE_ACCOUNTS", () => {
  it("names a service account for every built-in controller (nodelifecycle and nodeipam share node-controller)", () => {
    const missing = defaultRegistry().names().filter((name) => CONTROLLER_SERVICE_ACCOUNTS[name] === undefined);
    expect(missing).toEqual([]);
    expect([CONTROLLER_SERVICE_ACCOUNTS.nodelifecycle, CONTROLLER_SERVICE_ACCOUNTS.nodeipam]).toEqual(["node-controller", "node-controller"]);
  });
});
