// Printers of the RBAC kinds and CertificateSigningRequests: kubectl's columns and cell texts.
import { ageSince, humanDuration } from "../duration.js";
import type { KubeObject } from "../meta.js";
import { AGE_COLUMN, at, column, CREATED_AT_COLUMN, NAME_COLUMN, objectsAt, orNone, textAt, type KindPrinter } from "./printer.js";

const roles: KindPrinter = {
  columns: [NAME_COLUMN, CREATED_AT_COLUMN],
  cells: (object) => [object.metadata.name ?? "", object.metadata.creationTimestamp ?? ""],
};

/** Users, groups and service accounts (`namespace/name`) a binding grants its role to. */
function subjectsOf(binding: KubeObject): { users: string[]; groups: string[]; serviceAccounts: string[] } {
  const out = { users: [] as string[], groups: [] as string[], serviceAccounts: [] as string[] };
  for (const subject of objectsAt(binding, "subjects")) {
    const name = textAt(subject, "name");
    if (subject.kind === "User") out.users.push(name);
    else if (subject.kind === "Group") out.groups.push(name);
    else if (subject.kind === "ServiceAccount") out.serviceAccounts.push(`${textAt(subject, "namespace")}/${name}`);
  }
  return out;
}

const bindings: KindPrinter = {
  columns: [
    NAME_COLUMN,
    column("Role", "string", "RoleRef is the role being bound to."),
    AGE_COLUMN,
    column("Users", "string", "Users in the roleBinding", 1),
    column("Groups", "string", "Groups in the roleBinding", 1),
    column("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", 1),
  ],
  cells(binding, now) {
    const { users, groups, serviceAccounts } = subjectsOf(binding);
    return [
      binding.metadata.name ?? "",
      `${textAt(binding, "roleRef", "kind")}/${textAt(binding, "roleRef", "name")}`,
      ageSince(binding.metadata.creationTimestamp, now),
      users.join(", "),
      groups.join(", "),
      serviceAccounts.join(", "),
    ];
  },
};

/** Approved, Denied or Failed (as they occur), then Issued once there is a certificate; Pending when none. */
export function csrCondition(csr: KubeObject): string {
  const states: string[] = objectsAt(csr, "status", "conditions")
    .map((c) => textAt(c, "type"))
    .filter((type) => type === "Approved" || type === "Denied" || type === "Failed");
  if (textAt(csr, "status", "certificate")) states.push("Issued");
  return states.length === 0 ? "Pending" : states.join(",");
}

const certificateSigningRequests: KindPrinter = {
  columns: [
    NAME_COLUMN,
    AGE_COLUMN,
    column("SignerName", "string", "Only one signer name, the requested signer."),
    column("Requestor", "string", "Name of the user who requested the certificate."),
    column("RequestedDuration", "string", "Requested duration of the issued certificate."),
    column("Condition", "string", "Approval state of the request and whether a certificate was issued."),
  ],
  cells(csr, now) {
    const seconds = at(csr, "spec", "expirationSeconds");
    return [
      csr.metadata.name ?? "",
      ageSince(csr.metadata.creationTimestamp, now),
      textAt(csr, "spec", "signerName"),
      textAt(csr, "spec", "username"),
      typeof seconds === "number" ? orNone(humanDuration(seconds * 1000)) : "<none>",
      csrCondition(csr),
    ];
  },
};

export const ACCESS_PRINTERS: Readonly<Record<string, KindPrinter>> = {
  "rbac.authorization.k8s.io/Role": roles,
  "rbac.authorization.k8s.io/ClusterRole": roles,
  "rbac.authorization.k8s.io/RoleBinding": bindings,
  "rbac.authorization.k8s.io/ClusterRoleBinding": bindings,
  "certificates.k8s.io/CertificateSigningRequest": certificateSigningRequests,
};
