// The CSR signing controller (Kubernetes' pkg/controller/certificates/signer, --controllers name "csrsigning"):
// approved CertificateSigningRequests for the built-in signers are signed with the cluster CA from
// --cluster-signing-cert-file/--cluster-signing-key-file. Without those files the controller does not run, as in
// Kubernetes.
//
// Contract:
//   - Keys are CSR names. A CSR is signed once: when it is Approved (and not Denied), not Failed, has no
//     status.certificate yet, and names kubernetes.io/kube-apiserver-client, kube-apiserver-client-kubelet,
//     kubelet-serving or legacy-unknown. Other signers' CSRs are left to their signers.
//   - Each signer's rules (Kubernetes' ValidateKubeletClientCSR, ValidateKubeletServingCSR, the client-auth
//     usage check) are checked first; a CSR breaking them gets a Failed condition with reason
//     SignerValidationFailure and is never signed. So does one whose request cannot be read or whose signature
//     does not verify (Kubernetes' apiserver refuses those at create; kubelab's only checks the PEM type).
//   - The certificate's subject and SANs come from the request, its usages from spec.usages; it is valid from
//     5 minutes ago for spec.expirationSeconds (at least 10 minutes), at most --cluster-signing-duration, and never
//     past the CA. It is written to status.certificate through /status (a conflict is retried).
import { isNotFound } from "../../../api/errors.js";
import { findResource } from "../../../api/resources.js";
import { formatTime } from "../../../api/time.js";
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import type { CertificateAndKey } from "../../../component-base/pki/certificates.js";
import { CertificateRequestError, parseCertificateRequest, type ParsedCertificateRequest } from "../../../component-base/pki/csr.js";
import { readCertificateAuthority } from "../../../component-base/pki/files.js";
import { signCertificateRequest } from "../../../component-base/pki/sign.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "csrsigning";
export const CSRS = findResource("certificates.k8s.io", "v1", "certificatesigningrequests")!;

export const KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client";
export const KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet";
export const KUBELET_SERVING = "kubernetes.io/kubelet-serving";
export const LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown";
export const SIGNER_VALIDATION_FAILURE = "SignerValidationFailure";
/** --cluster-signing-duration's default: 8760h0m0s. */
export const DEFAULT_SIGNING_DURATION_MS = 365 * 24 * 3600 * 1000;
const MIN_DURATION_SECONDS = 600;
const BACKDATE_SECONDS = 300;

/** A signer's rule: the reason the request breaks it, or undefined. */
type SignerRule = (request: ParsedCertificateRequest, usages: readonly string[]) => string | undefined;

/** The built-in signers and their rules (Kubernetes' getCSRVerificationFuncForSignerName). */
export const SIGNER_RULES: ReadonlyMap<string, SignerRule> = new Map<string, SignerRule>([
  [KUBE_APISERVER_CLIENT, apiserverClientUsages],
  [KUBE_APISERVER_CLIENT_KUBELET, kubeletClient],
  [KUBELET_SERVING, kubeletServing],
  [LEGACY_UNKNOWN, () => undefined],
]);

export type CSRSigningClient = Pick<RestClient, "updateStatus">;

export interface CSRSigningControllerOptions {
  client: CSRSigningClient;
  csrs: Informer<CertificateSigningRequest>;
  /** The CA pair (read once, when the controller starts). */
  ca: () => CertificateAndKey;
  /** --cluster-signing-duration in milliseconds. */
  signingDurationMs?: number;
  workers?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

export class CSRSigningController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly client: CSRSigningClient;
  private readonly csrs: Informer<CertificateSigningRequest>;
  private readonly readCA: () => CertificateAndKey;
  private readonly signingDurationSeconds: number;
  private readonly workers: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private ca: CertificateAndKey | undefined;

  constructor(opts: CSRSigningControllerOptions) {
    this.client = opts.client;
    this.csrs = opts.csrs;
    this.readCA = opts.ca;
    this.signingDurationSeconds = Math.floor((opts.signingDurationMs ?? DEFAULT_SIGNING_DURATION_MS) / 1000);
    this.workers = opts.workers ?? 5;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: this.clock, metrics: opts.metrics });
    const enqueue = (csr: Readonly<CertificateSigningRequest>): void => {
      this.queue.add(csr.metadata.name ?? "");
    };
    this.csrs.addEventHandler({ onAdd: enqueue, onUpdate: (_old, csr) => { enqueue(csr); } });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.ca = this.readCA();
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), informers: [this.csrs], logger: this.logger, signal });
  }

  async sync(name: string): Promise<void> {
    const csr = this.csrs.lister.get(name);
    if (!csr || !needsSigning(csr)) return;
    const signerName = csr.spec?.signerName ?? "";
    const rule = SIGNER_RULES.get(signerName);
    if (!rule) return;
    this.ca ??= this.readCA();
    const usages = csr.spec?.usages ?? [];
    const pem = Buffer.from(csr.spec?.request ?? "", "base64").toString("utf8");
    let failure: string | undefined;
    let certificate: string | undefined;
    try {
      const request = parseCertificateRequest(pem);
      failure = request.signatureValid ? rule(request, usages) : "the request's signature does not verify with its public key";
      if (failure === undefined) {
        certificate = await signCertificateRequest(this.ca, pem, { usages, durationSeconds: this.durationSeconds(csr.spec?.expirationSeconds), backdateSeconds: BACKDATE_SECONDS, now: new Date(this.clock.now()) });
      }
    } catch (err) {
      if (!(err instanceof CertificateRequestError)) throw err;
      failure = `unable to parse csr "${name}": ${err.message}`;
    }
    const next = structuredClone(csr) as CertificateSigningRequest;
    if (certificate !== undefined) {
      next.status = { ...next.status, certificate: Buffer.from(certificate).toString("base64") };
      this.logger.info({ csr: name, signerName }, "Signed certificate signing request");
    } else {
      const now = formatTime(this.clock.now());
      const failed: CertificateSigningRequestCondition = { type: "Failed", status: "True", reason: SIGNER_VALIDATION_FAILURE, message: failure ?? "", lastUpdateTime: now, lastTransitionTime: now };
      next.status = { ...next.status, conditions: [...(next.status?.conditions ?? []), failed] };
      this.logger.info({ csr: name, signerName, reason: failure }, "Certificate signing request failed its signer's validation");
    }
    try {
      await this.client.updateStatus(CSRS, undefined, next);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /** Kubernetes' signer.duration: the CSR's expirationSeconds, at least 10 minutes, at most the flag. */
  private durationSeconds(expirationSeconds: number | undefined): number {
    if (expirationSeconds === undefined) return this.signingDurationSeconds;
    return Math.min(this.signingDurationSeconds, Math.max(MIN_DURATION_SECONDS, expirationSeconds));
  }
}

function hasTrueCondition(csr: Readonly<CertificateSigningRequest>, type: string): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === type && c.status === "True");
}

/** Approved, not denied, not failed, not yet signed. */
export function needsSigning(csr: Readonly<CertificateSigningRequest>): boolean {
  if (csr.status?.certificate) return false;
  return hasTrueCondition(csr, "Approved") && !hasTrueCondition(csr, "Denied") && !hasTrueCondition(csr, "Failed");
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
}

/** kubernetes.io/kube-apiserver-client: client auth, optionally digital signature and key encipherment. */
function apiserverClientUsages(_request: ParsedCertificateRequest, usages: readonly string[]): string | undefined {
  for (const usage of usages) {
    if (usage !== "digital signature" && usage !== "key encipherment" && usage !== "client auth") return `invalid usage for client certificate: ${usage}`;
  }
  return usages.includes("client auth") ? undefined : "missing required usage for client certificate: client auth";
}

/** Both kubelet signers: O=system:nodes exactly and CN=system:node:<name>. */
function nodeSubject(request: ParsedCertificateRequest): string | undefined {
  if (request.organizations.length !== 1 || request.organizations[0] !== "system:nodes") return "subject organization is not system:nodes";
  if (!request.commonName.startsWith("system:node:")) return "subject common name does not begin with system:node:";
  return undefined;
}

/** kubernetes.io/kube-apiserver-client-kubelet: a node's identity, no SANs, client usages only. */
function kubeletClient(request: ParsedCertificateRequest, usages: readonly string[]): string | undefined {
  const subject = nodeSubject(request);
  if (subject) return subject;
  if (request.dnsNames.length > 0) return "dnsNames subjectAltName extension is forbidden";
  if (request.emailAddresses.length > 0) return "emailAddresses subjectAltName extension is forbidden";
  if (request.ipAddresses.length > 0) return "ipAddresses subjectAltName extension is forbidden";
  if (request.uris.length > 0) return "uris subjectAltName extension is forbidden";
  const allowed = [["client auth", "digital signature", "key encipherment"], ["client auth", "digital signature"]];
  return allowed.some((set) => sameSet(usages, set)) ? undefined : "usages did not match [client auth digital signature key encipherment]";
}

/** kubernetes.io/kubelet-serving: a node's identity, DNS or IP SANs (no email or URI), server usages only. */
function kubeletServing(request: ParsedCertificateRequest, usages: readonly string[]): string | undefined {
  const allowed = [["digital signature", "key encipherment", "server auth"], ["digital signature", "server auth"]];
  if (!allowed.some((set) => sameSet(usages, set))) return "usages did not match [digital signature key encipherment server auth]";
  if (request.dnsNames.length + request.ipAddresses.length === 0) return "DNS or IP subjectAltName is required";
  if (request.emailAddresses.length > 0) return "Email subjectAltNames are not allowed";
  if (request.uris.length > 0) return "URI subjectAltNames are not allowed";
  return nodeSubject(request);
}

/** A controller that only says why it is not running (Kubernetes skips the signer without its files). */
class SkippedController implements Controller {
  readonly name = NAME;
  constructor(private readonly logger: Logger) {}
  run(): Promise<void> {
    this.logger.info("Skipping CSR signer controller because no csr cert/key was specified");
    return Promise.resolve();
  }
}

export const createCSRSigningController: ControllerFactory = (ctx) => {
  const logger = ctx.logger.child({ controller: NAME });
  const certFile = ctx.config.clusterSigningCertFile ?? "";
  const keyFile = ctx.config.clusterSigningKeyFile ?? "";
  if (certFile === "" || keyFile === "") return new SkippedController(logger);
  return new CSRSigningController({
    client: ctx.client,
    csrs: ctx.informers.forResource<CertificateSigningRequest>(CSRS),
    ca: () => readCertificateAuthority(certFile, keyFile),
    ...(ctx.config.clusterSigningDurationMs !== undefined ? { signingDurationMs: ctx.config.clusterSigningDurationMs } : {}),
    clock: ctx.clock,
    logger,
    metrics: ctx.metrics,
  });
};
