// certificates.k8s.io CertificateSigningRequest (pkg/apis/certificates/validation): a PEM certificate request, a
// signer, usages, and conditions where Approved and Denied exclude each other and stay once set.
import type { FieldError } from "../errors.js";
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from "../types/index.js";
import { forbidden, invalid, notSupported, required } from "./field-errors.js";
import { listOf, objectsOf, str } from "./helpers.js";

const KEY_USAGES = [
  "signing", "digital signature", "content commitment", "key encipherment", "key agreement", "data encipherment",
  "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth", "client auth", "code signing",
  "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
  "microsoft sgc", "netscape sgc",
];
const MIN_EXPIRATION_SECONDS = 600;
const QUALIFIED_SIGNER = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function validateCertificateSigningRequest(csr: CertificateSigningRequest): FieldError[] {
  const errs: FieldError[] = [];
  const spec = csr.spec ?? {};
  const pem = Buffer.from(str(spec.request), "base64").toString("utf8");
  if (!spec.request) errs.push(required("spec.request"));
  else if (!pem.includes("-----BEGIN CERTIFICATE REQUEST-----") && !pem.includes("-----BEGIN NEW CERTIFICATE REQUEST-----")) {
    errs.push(invalid("spec.request", "<request>", "PEM block type must be CERTIFICATE REQUEST"));
  }
  if (!spec.signerName) errs.push(required("spec.signerName"));
  else if (!QUALIFIED_SIGNER.test(spec.signerName)) errs.push(invalid("spec.signerName", spec.signerName, "should be a domain with at least two segments separated by dots, followed by a slash and a path"));
  if (spec.expirationSeconds !== undefined && spec.expirationSeconds < MIN_EXPIRATION_SECONDS) {
    errs.push(invalid("spec.expirationSeconds", spec.expirationSeconds, `may not specify a duration less than ${MIN_EXPIRATION_SECONDS} seconds (10 minutes)`));
  }
  const usages = listOf(spec.usages);
  if (usages.length === 0) errs.push(required("spec.usages"));
  usages.forEach((u, i) => {
    if (!KEY_USAGES.includes(u)) errs.push(notSupported(`spec.usages[${i}]`, u, KEY_USAGES));
  });
  errs.push(...validateConditions(objectsOf(csr.status?.conditions)));
  return errs;
}

function validateConditions(conditions: readonly CertificateSigningRequestCondition[]): FieldError[] {
  const errs: FieldError[] = [];
  let approved = false;
  let denied = false;
  conditions.forEach((c, i) => {
    const path = `status.conditions[${i}]`;
    if (!c.type) errs.push(required(`${path}.type`));
    if (c.type === "Approved" || c.type === "Denied" || c.type === "Failed") {
      if (c.status !== "True") errs.push(notSupported(`${path}.status`, str(c.status), ["True"]));
    }
    if (c.type === "Approved") {
      if (approved) errs.push({ type: "FieldValueDuplicate", field: `${path}.type`, message: `Duplicate value: "Approved"` });
      approved = true;
      if (denied) errs.push(invalid(`${path}.type`, "Approved", "Approved and Denied conditions are mutually exclusive"));
    }
    if (c.type === "Denied") {
      if (denied) errs.push({ type: "FieldValueDuplicate", field: `${path}.type`, message: `Duplicate value: "Denied"` });
      denied = true;
      if (approved) errs.push(invalid(`${path}.type`, "Denied", "Approved and Denied conditions are mutually exclusive"));
    }
  });
  return errs;
}

/** The spec is fixed at creation; Approved, Denied and Failed conditions are never taken back. */
export function validateCertificateSigningRequestUpdate(next: CertificateSigningRequest, prev: CertificateSigningRequest): FieldError[] {
  const errs: FieldError[] = [];
  if (JSON.stringify(next.spec) !== JSON.stringify(prev.spec)) errs.push(forbidden("spec", "field is immutable"));
  const kept = new Set(objectsOf(next.status?.conditions).map((c) => c.type));
  for (const type of ["Approved", "Denied", "Failed"]) {
    if (objectsOf(prev.status?.conditions).some((c) => c.type === type) && !kept.has(type)) {
      errs.push(forbidden("status.conditions", `updates may not remove a condition of type ${JSON.stringify(type)}`));
    }
  }
  return errs;
}
