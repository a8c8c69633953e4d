// Service-account tokens against a real apiserver over TLS, presented as a pod presents its mounted token: a token
// bound to a pod authenticates while the pod exists and is refused (401) once the pod is deleted; an expired token,
// re-signed with the cluster's own signing key so that only its expiry is wrong, is refused too.
import { createPrivateKey, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../support/apiserver.js";
import { call, type ApiTarget } from "../support/http.js";
import { testPki } from "../support/pki.js";

const NAMESPACE = "satokens";
const REVIEW = { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" };

interface Review {
  status?: { userInfo?: { username?: string; extra?: Record<string, string[]> } };
}

describe("service-account tokens on the secure port", () => {
  let cluster: TestCluster;
  let signingKey: string;

  const as = (token: string): ApiTarget => ({ url: cluster.api.url, ...(cluster.api.caFile !== undefined ? { caFile: cluster.api.caFile } : {}), token });
  const whoami = (token: string) => call<Review>(as(token), "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", REVIEW);
  const k = (...args: string[]) => cluster.kubectl(args);

  /** The token's claims changed by `change`, signed again (RS256) with the apiserver's --service-account-signing-key-file. */
  const resign = (token: string, change: (claims: Record<string, unknown>) => void): string => {
    const [header, payload] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    change(claims);
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    return `${input}.${sign("RSA-SHA256", Buffer.from(input), createPrivateKey(signingKey)).toString("base64url")}`;
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
    signingKey = readFileSync((await testPki()).paths.saKey, "utf8");
    await k("create", "namespace", NAMESPACE);
    await k("create", "serviceaccount", "reader", "--namespace", NAMESPACE);
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it("authenticates a pod-bound token while its pod exists and refuses it once the pod is deleted", async () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "holder", namespace: NAMESPACE }, spec: { serviceAccountName: "reader", containers: [{ name: "c", image: "busybox" }] } };
    await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(pod) });
    const token = (await k("create", "token", "reader", "--namespace", NAMESPACE, "--bound-object-kind=Pod", "--bound-object-name=holder")).stdout.trim();

    const alive = await whoami(token);
    expect(alive.status, alive.text).toBe(201);
    expect(alive.body.status?.userInfo?.username).toBe(`system:serviceaccount:${NAMESPACE}:reader`);
    expect(alive.body.status?.userInfo?.extra?.["authentication.kubernetes.io/pod-name"]).toEqual(["holder"]);

    await k("delete", "pod", "holder", "--namespace", NAMESPACE, "--grace-period=0", "--force", "--wait=true");
    const gone = await whoami(token);
    expect(gone.status, gone.text).toBe(401);
    expect(gone.text).toContain('"reason":"Unauthorized"');
  });

  it("refuses an expired token that is otherwise the apiserver's own", async () => {
    const token = (await k("create", "token", "reader", "--namespace", NAMESPACE)).stdout.trim();
    // Re-signing without changes must still authenticate: then the refusal below is the expiry's doing alone.
    const same = await whoami(resign(token, () => undefined));
    expect(same.status, same.text).toBe(201);

    const now = Math.floor(Date.now() / 1000);
    const expired = resign(token, (claims) => {
      claims.iat = now - 7200;
      claims.nbf = now - 7200;
      claims.exp = now - 3600;
    });
    const refused = await whoami(expired);
    expect(refused.status, refused.text).toBe(401);
  });
});
