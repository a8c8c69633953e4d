// Defaults of the access-control kinds: binding subjects (SetDefaults_Subject) and CSR conditions
// (SetDefaults_CertificateSigningRequestCondition).
import type { CertificateSigningRequest, RoleBinding } from "./types/index.js";

export const RBAC_GROUP = "rbac.authorization.k8s.io";

/** A User or Group subject without an apiGroup is RBAC's. */
export function defaultRoleBinding(binding: RoleBinding): void {
  for (const subject of Array.isArray(binding.subjects) ? binding.subjects : []) {
    if (typeof subject !== "object") continue;
    if (!subject.apiGroup && (subject.kind === "User" || subject.kind === "Group")) subject.apiGroup = RBAC_GROUP;
  }
}

export function defaultCertificateSigningRequest(csr: CertificateSigningRequest): void {
  for (const condition of Array.isArray(csr.status?.conditions) ? csr.status.conditions : []) {
    if (typeof condition === "object") condition.status ||= "True";
  }
}
