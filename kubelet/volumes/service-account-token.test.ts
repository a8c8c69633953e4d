import { describe, expect, it } from "vitest";
import type { Pod, TokenRequest } from "../../api/types/index.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { ServiceAccountTokenManager } from "./service-account-token.js";

const POD: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "ns", uid: "u1" }, spec: { serviceAccountName: "robot", containers: [] } };

describe("ServiceAccountTokenManager", () => {
  it("requests a pod-bound token, keeps it until 80% of its lifetime has passed, then requests a new one", async () => {
    const clock = new FakeClock();
    const requests: { namespace: string; account: string; request: TokenRequest }[] = [];
    const manager = new ServiceAccountTokenManager((namespace, account, request) => {
      requests.push({ namespace, account, request });
      const seconds = request.spec?.expirationSeconds ?? 0;
      return Promise.resolve({ ...request, status: { token: `token-${requests.length}`, expirationTimestamp: new Date(clock.now() + seconds * 1000).toISOString() } });
    }, clock);
    const source = { expirationSeconds: 3607, path: "token" };
    expect(await manager.token(POD, source)).toBe("token-1");
    expect(requests[0]).toEqual({
      namespace: "ns",
      account: "robot",
      request: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: {}, spec: { expirationSeconds: 3607, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: "u1" } } },
    });
    await clock.advance(2800 * 1000);
    expect(await manager.token(POD, source)).toBe("token-1");
    await clock.advance(100 * 1000); // 2900 s > 0.8 × 3607 s
    expect(await manager.token(POD, source)).toBe("token-2");
    expect(await manager.token(POD, { ...source, audience: "vault" })).toBe("token-3");
    expect(requests[2]?.request.spec?.audiences).toEqual(["vault"]);
    manager.forget("u1");
    expect(await manager.token(POD, source)).toBe("token-4");
  });
});
