// CertificateSigningRequests: the requester's identity is set by the server on create (spec.username, groups),
// status is written through /status by signers, and Approved/Denied conditions only through /approval
// (`kubectl certificate approve|deny`). Signing is the controller-manager's (csrsigning, with the cluster CA).
import { conflict, methodNotAllowed } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import { formatTime } from "../../../api/time.js";
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from "../../../api/types/index.js";
import { INSECURE_USER } from "../../auth/identity.js";
import type { ResourceDefinition, SubresourceHandler } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

/** certificatesigningrequests/<name>/approval: a PUT replaces status.conditions and nothing else. */
const approval: SubresourceHandler = async ({ method, store, name, object }) => {
  if (method === "GET") return { code: 200, object: await store.get(undefined, name) };
  if (method !== "PUT") throw methodNotAllowed("the server does not allow this method on the requested resource");
  const body = (await object()) as CertificateSigningRequest;
  const expected = body.metadata.resourceVersion;
  const now = formatTime(Date.now());
  const conditions = (Array.isArray(body.status?.conditions) ? body.status.conditions : []).filter(isRecord).map((c: CertificateSigningRequestCondition) => ({ ...c, status: c.status === undefined || c.status === "" ? "True" : c.status }));
  const updated = await store.mutate(undefined, name, (current: KubeObject) => {
    if (expected !== undefined && expected !== current.metadata.resourceVersion) throw conflict(store.qualified, name);
    const csr = current as CertificateSigningRequest;
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
