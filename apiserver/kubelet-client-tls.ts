// The apiserver's identity towards kubelets (--kubelet-client-certificate, --kubelet-client-key,
// --kubelet-certificate-authority), read at start so that a bad file stops the start; the proxy that uses it
// (kubelet-proxy.ts) is loaded with the request handlers, after the server is ready.
import { readFileSync } from "node:fs";

export interface KubeletClientTls {
  certPem: string;
  keyPem: string;
  /** --kubelet-certificate-authority; without it the kubelet's serving certificate is not verified. */
  caPem?: string;
}

/** --kubelet-client-certificate, --kubelet-client-key and --kubelet-certificate-authority, read; both or neither of the pair. */
export function kubeletClientTls(flags: { kubeletClientCertificate?: string | undefined; kubeletClientKey?: string | undefined; kubeletCertificateAuthority?: string | undefined }): { tls?: KubeletClientTls } {
  const given = (v: string | undefined): v is string => v !== undefined && v !== "";
  if (given(flags.kubeletClientCertificate) !== given(flags.kubeletClientKey)) throw new Error("--kubelet-client-certificate and --kubelet-client-key must be given together");
  if (!given(flags.kubeletClientCertificate) || !given(flags.kubeletClientKey)) return {};
  const caPem = given(flags.kubeletCertificateAuthority) ? readFileSync(flags.kubeletCertificateAuthority, "utf8") : undefined;
  return { tls: { certPem: readFileSync(flags.kubeletClientCertificate, "utf8"), keyPem: readFileSync(flags.kubeletClientKey, "utf8"), ...(caPem !== undefined ? { caPem } : {}) } };
}
