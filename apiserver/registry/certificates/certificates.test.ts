import { beforeEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import type { CertificateSigningRequest } from "../../../api/types/index.js";
import type { SubresourceRequest } from "../kind.js";
import type { ServedResource } from "../registry.js";
import { memoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";

const REQUEST = Buffer.from("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n").toString("base64");

let csrs: ServedResource;

beforeEach(async () => {
  const m = await memoryRegistry();
  const served = m.registry.served("certificates.k8s.io", "v1", "certificatesigningrequests");
  if (!served) throw new Error("CSRs not served");
  csrs = served;
});

function csr(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "certificates.k8s.io/v1", kind: "CertificateSigningRequest", metadata: { name }, spec: { request: REQUEST, signerName: "kubernetes.io/kube-apiserver-client", usages: ["client auth"], username: "forged", ...spec }, status: { conditions: [{ type: "Approved", status: "True" }] } };
}

async function putApproval(name: string, conditions: unknown[]): Promise<CertificateSigningRequest> {
  const current = await csrs.store.get(undefined, name);
  const handler = csrs.subresources.approval;
  if (!handler) throw new Error("no approval subresource");
  const request: SubresourceRequest = {
    method: "PUT",
    namespace: undefined,
    name,
    dryRun: false,
    store: csrs.store,
    storeFor: () => undefined,
    object: () => Promise.resolve({ ...current, status: { conditions } }),
    json: () => Promise.reject(new Error("unused")),
    patch: () => Promise.reject(new Error("unused")),
  };
  const reply = await handler(request);
  if (!("object" in reply)) throw new Error("expected the CSR");
  return reply.object;
}

describe("CertificateSigningRequests", () => {
  it("records the requester itself and starts without conditions", async () => {
    const created = (await csrs.store.create(undefined, csr("jane"))) as CertificateSigningRequest;
    expect(created.spec?.username).toBe("system:unsecured");
    expect(created.spec?.groups).toEqual(["system:masters", "system:authenticated"]);
    expect(created.status).toEqual({});
  });

  it("refuses a request without a PEM certificate request, signer or usages", async () => {
    const err = await rejection(csrs.store.create(undefined, { ...csr("bad"), spec: { request: Buffer.from("hello").toString("base64"), expirationSeconds: 60 } }));
    expect(err.message).toBe('CertificateSigningRequest.certificates.k8s.io "bad" is invalid: [spec.request: Invalid value: "<request>": PEM block type must be CERTIFICATE REQUEST, spec.signerName: Required value, spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes), spec.usages: Required value]');
  });

  it("sets conditions through approval with their times, and keeps Approved and Denied apart and for good", async () => {
    await csrs.store.create(undefined, csr("jane"));
    const approved = await putApproval("jane", [{ type: "Approved", reason: "KubectlApprove", message: "ok" }]);
    expect(approved.status?.conditions).toEqual([{ type: "Approved", status: "True", reason: "KubectlApprove", message: "ok", lastUpdateTime: expect.any(String) as string, lastTransitionTime: expect.any(String) as string }]);
    expect((await rejection(putApproval("jane", [...(approved.status?.conditions ?? []), { type: "Denied", status: "True" }]))).message).toContain("Approved and Denied conditions are mutually exclusive");
    expect((await rejection(putApproval("jane", []))).message).toContain('updates may not remove a condition of type "Approved"');
  });
});
