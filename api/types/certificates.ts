// certificates.k8s.io/v1 CertificateSigningRequest: a PEM certificate request, approved or denied through the
// approval subresource and signed by the signer it names.
import type { KubeObject } from "../meta.js";

export interface CertificateSigningRequestSpec {
  /** The PEM-encoded CERTIFICATE REQUEST, base64 in JSON. */
  request?: string;
  signerName?: string;
  expirationSeconds?: number;
  usages?: string[];
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface CertificateSigningRequestCondition {
  /** Approved, Denied or Failed. */
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export interface CertificateSigningRequestStatus {
  conditions?: CertificateSigningRequestCondition[];
  /** The issued PEM certificate chain, base64 in JSON. */
  certificate?: string;
}

export interface CertificateSigningRequest extends KubeObject {
  spec?: CertificateSigningRequestSpec;
  status?: CertificateSigningRequestStatus;
}
