// Defaults of the access-control kinds: binding subjects (SetDefaults_Subject) and CSR conditions
// (SetDefaults_CertificateSigningRequestCondition).
import type { CertificateSigningRequest, RoleBinding } from "./types/index.js";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const RBAC_GROUP = "rbac.authorization.k8s.io";

/** A User or Group subject without an apiGroup is RBAC's. */
export function defaultRoleBinding(binding: RoleBinding): void {
  for (const subject of Array.isArray(binding.subjects) ? binding.subjects : []) {
    if (!isObject(subject)) continue;
    if (!subject.apiGroup && (subject.kind === "User" || subject.kind === "Group")) subject.apiGroup = RBAC_GROUP;
  }
}

export function defaultCertificateSigningRequest(csr: CertificateSigningRequest): void {
  const conditions: unknown = isObject(csr.status) ? csr.status.conditions : undefined;
  for (const condition of Array.isArray(conditions) ? (conditions as { status?: string }[]) : []) {
    if (isObject(condition)) condition.status ||= "True";
  }
}
