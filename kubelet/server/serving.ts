// The kubelet API's serving and access flags turned into the server's TLS material and auth filter.
import { readFileSync } from "node:fs";
import { tokenReviewWebhook } from "../../client/auth-reviews.js";
import type { RestClient } from "../../client/rest.js";
import type { Clock } from "../../component-base/clock.js";
import type { KubeletFlags } from "../options.js";
import { KubeletAuth, subjectAccessReviewWebhook } from "./auth.js";

export type ServingFlags = Pick<
  KubeletFlags,
  | "tlsCertFile"
  | "tlsPrivateKeyFile"
  | "clientCaFile"
  | "anonymousAuth"
  | "authenticationTokenWebhook"
  | "authenticationTokenWebhookCacheTtl"
  | "authorizationMode"
  | "authorizationWebhookCacheAuthorizedTtl"
  | "authorizationWebhookCacheUnauthorizedTtl"
>;

export interface KubeletServing {
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
  auth: KubeletAuth;
}

const set = (v: string | undefined): v is string => v !== undefined && v !== "";

/** Checks the flags together and reads the files; throws a message naming the flag at fault. */
export function servingFromFlags(flags: ServingFlags, nodeName: string, client: RestClient, clock?: Clock): KubeletServing {
  if (flags.authorizationMode !== "AlwaysAllow" && flags.authorizationMode !== "Webhook") {
    throw new Error(`--authorization-mode: unsupported authorization mode "${flags.authorizationMode}" (AlwaysAllow or Webhook)`);
  }
  if (set(flags.tlsCertFile) !== set(flags.tlsPrivateKeyFile)) throw new Error("--tls-cert-file and --tls-private-key-file must be given together");
  const tls = set(flags.tlsCertFile) && set(flags.tlsPrivateKeyFile) ? { certPem: readFileSync(flags.tlsCertFile, "utf8"), keyPem: readFileSync(flags.tlsPrivateKeyFile, "utf8") } : undefined;
  if (set(flags.clientCaFile) && !tls) throw new Error("--client-ca-file needs HTTPS: give --tls-cert-file and --tls-private-key-file (kubelab does not self-sign)");
  const clientCaPem = set(flags.clientCaFile) ? readFileSync(flags.clientCaFile, "utf8") : undefined;
  const auth = new KubeletAuth({
    nodeName,
    anonymous: flags.anonymousAuth,
    clientCertificates: clientCaPem !== undefined,
    ...(flags.authenticationTokenWebhook ? { tokenReviewer: tokenReviewWebhook(client) } : {}),
    ...(flags.authorizationMode === "Webhook" ? { accessReviewer: subjectAccessReviewWebhook(client) } : {}),
    ...(clock ? { clock } : {}),
    tokenCacheTtlMs: flags.authenticationTokenWebhookCacheTtl,
    authorizedTtlMs: flags.authorizationWebhookCacheAuthorizedTtl,
    unauthorizedTtlMs: flags.authorizationWebhookCacheUnauthorizedTtl,
  });
  return { ...(tls ? { tls: clientCaPem !== undefined ? { ...tls, clientCaPem } : tls } : {}), auth };
}
