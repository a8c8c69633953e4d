// The kubelet's token manager: the tokens of projected serviceAccountToken sources, requested through the
// TokenRequest API (serviceaccounts/<name>/token) bound to the pod, so they stop working when the pod goes, and
// requested again once 80% of their lifetime has passed (or after 24 hours), as Kubernetes' kubelet does.
import { isRecord } from "../../api/meta.js";
import type { Pod, TokenRequest } from "../../api/types/index.js";
import type { RestClient } from "../../client/rest.js";
import type { Clock } from "../../component-base/clock.js";

/** Posts a TokenRequest for a service account and returns the apiserver's answer. */
export type TokenRequester = (namespace: string, serviceAccount: string, request: TokenRequest) => Promise<TokenRequest>;

const MAX_AGE_MS = 24 * 3600 * 1000;

interface CachedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

export class ServiceAccountTokenManager {
  private readonly cache = new Map<string, CachedToken>();

  constructor(
    private readonly request: TokenRequester,
    private readonly clock: Pick<Clock, "now">,
  ) {}

  /** The token for one source of the pod: the cached one while it is fresh, else a new one. */
  async token(pod: Readonly<Pod>, source: { audience?: string; expirationSeconds?: number }): Promise<string> {
    const namespace = pod.metadata.namespace ?? "default";
    const account = [pod.spec?.serviceAccountName, pod.spec?.serviceAccount].find((name) => name !== undefined && name !== "") ?? "default";
    const uid = pod.metadata.uid ?? "";
    const key = JSON.stringify([uid, account, source.audience ?? "", source.expirationSeconds ?? 3600]);
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached && !this.needsRefresh(cached, now)) return cached.token;
    const reply = await this.request(namespace, account, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: {},
      spec: {
        ...(source.audience ? { audiences: [source.audience] } : {}),
        expirationSeconds: source.expirationSeconds ?? 3600,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name ?? "", uid },
      },
    });
    const token = reply.status?.token;
    if (!token) throw new Error(`the TokenRequest for serviceaccount ${namespace}/${account} returned no token`);
    const expiresAt = Date.parse(reply.status?.expirationTimestamp ?? "");
    const fresh = { token, issuedAt: now, expiresAt: Number.isFinite(expiresAt) ? expiresAt : now + (source.expirationSeconds ?? 3600) * 1000 };
    this.cache.set(key, fresh);
    return token;
  }

  /** Forgets the pod's tokens (the pod is gone). */
  forget(podUid: string): void {
    for (const key of [...this.cache.keys()]) if ((JSON.parse(key) as string[])[0] === podUid) this.cache.delete(key);
  }

  private needsRefresh(cached: CachedToken, now: number): boolean {
    if (now >= cached.expiresAt) return true;
    const lifetime = cached.expiresAt - cached.issuedAt;
    return now - cached.issuedAt > 0.8 * lifetime || now - cached.issuedAt > MAX_AGE_MS;
  }
}

/** POST serviceaccounts/<name>/token through the kubelet's client. */
export function tokenRequester(client: Pick<RestClient, "raw">): TokenRequester {
  return async (namespace, serviceAccount, request) => {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`;
    const reply = await client.raw("POST", path, request);
    if (!isRecord(reply.body)) throw new Error(`the TokenRequest for serviceaccount ${namespace}/${serviceAccount} got no object back`);
    return reply.body as TokenRequest;
  };
}
