// CertificateSigningRequests: the requester's identity is set by the server on create (spec.username, groups),
// status is written through /status by signers, and Approved/Denied conditions only through /approval
// (`kubectl certificate approve|deny`). Signing is the controller-manager's (csrsigning, with the cluster CA).
import { badRequest, conflict, methodNotAllowed } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import { applyPatch } from "../../../api/patch/apply.js";
import { formatTime } from "../../../api/time.js";
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from "../../../api/types/index.js";
import { INSECURE_USER } from "../../auth/identity.js";
import type { ResourceDefinition, SubresourceHandler } from "../kind.js";
import type { ResourceStore } from "../store.js";
import { PLAIN_STRATEGY } from "../strategy.js";

/**
 * certificatesigningrequests/<name>/approval: GET, PUT and PATCH, as Kubernetes serves it. A write takes the sent
 * object's status.conditions and metadata (labels, annotations, finalizers, owners) and nothing else: the spec and
 * the rest of the status stay (Kubernetes' approval strategy). A PATCH is applied to the current object first.
 */
const approval: SubresourceHandler = async ({ method, store, name, object, patch }) => {
  if (method === "GET") return { code: 200, object: await store.get(undefined, name) };
  if (method !== "PUT" && method !== "PATCH") throw methodNotAllowed("the server does not allow this method on the requested resource");
  const sent = method === "PATCH" ? await patched(store, name, await patch()) : ((await object()) as CertificateSigningRequest);
  const expected = method === "PUT" ? sent.metadata.resourceVersion : undefined;
  const now = formatTime(Date.now());
  const conditions = (Array.isArray(sent.status?.conditions) ? sent.status.conditions : []).filter(isRecord).map((c: CertificateSigningRequestCondition) => ({ ...c, status: c.status === undefined || c.status === "" ? "True" : c.status }));
  const updated = await store.mutate(undefined, name, (current: KubeObject) => {
    if (expected !== undefined && expected !== current.metadata.resourceVersion) throw conflict(store.qualified, name);
    const csr = current as CertificateSigningRequest;
    const kept = { ...csr.metadata };
    delete kept.labels;
    delete kept.annotations;
    delete kept.finalizers;
    delete kept.ownerReferences;
    csr.metadata = {
      ...kept,
      ...(sent.metadata.labels !== undefined ? { labels: sent.metadata.labels } : {}),
      ...(sent.metadata.annotations !== undefined ? { annotations: sent.metadata.annotations } : {}),
      ...(sent.metadata.finalizers !== undefined ? { finalizers: sent.metadata.finalizers } : {}),
      ...(sent.metadata.ownerReferences !== undefined ? { ownerReferences: sent.metadata.ownerReferences } : {}),
    };
    const previous = csr.status?.conditions ?? [];
    csr.status = {
      ...csr.status,
      conditions: conditions.map((c) => {
        const before = previous.find((p) => p.type === c.type);
        const changed = before?.status !== c.status;
        return { ...c, lastUpdateTime: c.lastUpdateTime ?? now, lastTransitionTime: c.lastTransitionTime ?? (changed ? now : before.lastTransitionTime ?? now) };
      }),
    };
    if (csr.status.conditions?.length === 0) delete csr.status.conditions;
  });
  return { code: 200, object: updated };
};

/** The current CSR with a PATCH applied (the object an /approval PATCH stands for). */
async function patched(store: ResourceStore, name: string, sent: { contentType: string; patch: unknown }): Promise<CertificateSigningRequest> {
  const current = await store.get(undefined, name);
  const result = applyPatch(sent.contentType, current, sent.patch);
  if (!isRecord(result) || !isRecord(result.metadata)) throw badRequest("the patch produced an object without metadata");
  return result as unknown as CertificateSigningRequest;
}

export const CERTIFICATE_RESOURCES: readonly ResourceDefinition[] = [
  {
    group: "certificates.k8s.io",
    resource: "certificatesigningrequests",
    strategy: () => ({
      ...PLAIN_STRATEGY,
      statusSubresource: true,
      // The requester is whoever sent the request (the unsecured superuser when no user is known).
      prepareForCreate(object, { user }) {
        const csr = object as CertificateSigningRequest;
        const requester = user ?? INSECURE_USER;
        csr.spec = { ...csr.spec, username: requester.username ?? "", groups: [...(requester.groups ?? [])] };
        delete csr.spec.uid;
        delete csr.spec.extra;
        if (requester.uid !== undefined && requester.uid !== "") csr.spec.uid = requester.uid;
        if (requester.extra !== undefined && Object.keys(requester.extra).length > 0) csr.spec.extra = structuredClone(requester.extra);
      },
    }),
    subresources: { approval },
  },
];
