// The secure port's flags (component-base/secure-serving.ts) turned into its server, with the apiserver as the judge
// of callers: TokenReviews through --authentication-kubeconfig, SubjectAccessReviews through
// --authorization-kubeconfig (each, when not given, the component's own client: kubelab's default, where Kubernetes
// would leave tokens unauthenticated and every checked path forbidden), and the client CA from --client-ca-file or,
// unless --authentication-skip-lookup, the client-ca-file key of the ConfigMap kube-system/extension-apiserver-
// authentication (read once at startup; Kubernetes keeps watching it).
import { readFileSync } from "node:fs";
import { isNotFound } from "../api/errors.js";
import { RESOURCES } from "../api/resources.js";
import type { ConfigMap } from "../api/types/index.js";
import type { Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import { DelegatingAuth, servingPair, startSecureServer, type SecureServingFlags } from "../component-base/secure-serving.js";
import type { HealthServer, RequestHandler } from "../component-base/server.js";
import { subjectAccessReviewWebhook, tokenReviewWebhook } from "./auth-reviews.js";
import type { RestClient } from "./rest.js";

const CONFIGMAPS = RESOURCES.find((r) => r.group === "" && r.resource === "configmaps")!;
/** Where kube-apiserver publishes its client CA for servers that delegate to it. */
export const AUTHENTICATION_CONFIGMAP = { namespace: "kube-system", name: "extension-apiserver-authentication", key: "client-ca-file" } as const;

export interface StartSecureServingOptions {
  flags: SecureServingFlags;
  /** The component's own apiserver client, used when no authentication/authorization kubeconfig is given. */
  client: RestClient;
  /** A client from a kubeconfig file (the component's rate limits and metrics); closed with the server. */
  clientFromKubeconfig: (kubeconfig: string, userAgent: string) => RestClient;
  /** The serving pair's file name in --cert-dir: "kube-scheduler". */
  pairName: string;
  /** The health and metrics routes, reached by authorized requests. */
  handler: RequestHandler;
  logger: Logger;
  clock?: Clock;
}

/** Starts the secure port the flags describe (--secure-port > 0); close() also closes the clients it made. */
export async function startSecureServing(opts: StartSecureServingOptions): Promise<HealthServer> {
  const { flags, logger } = opts;
  const made: RestClient[] = [];
  const clientFor = (kubeconfig: string, purpose: string): RestClient => {
    if (kubeconfig === "") return opts.client;
    const client = opts.clientFromKubeconfig(kubeconfig, `${opts.pairName}/${purpose}`);
    made.push(client);
    return client;
  };
  try {
    const pair = await servingPair(flags, opts.pairName);
    const authentication = clientFor(flags.authenticationKubeconfig, "authentication");
    const authorization = clientFor(flags.authorizationKubeconfig, "authorization");
    const clientCaPem = await clientCa(flags, authentication, logger);
    const review = subjectAccessReviewWebhook(authorization);
    const auth = new DelegatingAuth({
      clientCertificates: clientCaPem !== undefined,
      tokenReviewer: tokenReviewWebhook(authentication),
      accessReviewer: (user, verb, path) => review(user, { nonResourceAttributes: { verb, path } }),
      alwaysAllowPaths: flags.authorizationAlwaysAllowPaths,
      tokenCacheTtlMs: flags.authenticationTokenWebhookCacheTtl,
      authorizedTtlMs: flags.authorizationWebhookCacheAuthorizedTtl,
      unauthorizedTtlMs: flags.authorizationWebhookCacheUnauthorizedTtl,
      ...(opts.clock ? { clock: opts.clock } : {}),
      logger,
    });
    logger.info({ certificate: pair.source }, "Serving certificate");
    const server = await startSecureServer({ port: flags.securePort, bindAddress: flags.bindAddress, pair, ...(clientCaPem !== undefined ? { clientCaPem } : {}), auth, handler: opts.handler, logger });
    return {
      ...server,
      close: async () => {
        await server.close();
        for (const client of made) client.close();
      },
    };
  } catch (err) {
    for (const client of made) client.close();
    throw err;
  }
}

/** The client CA (see the file comment); undefined when there is none, so client certificates are not asked for. */
async function clientCa(flags: SecureServingFlags, client: RestClient, logger: Logger): Promise<string | undefined> {
  if (flags.clientCaFile !== "") return readFileSync(flags.clientCaFile, "utf8");
  if (flags.authenticationSkipLookup) return undefined;
  const where = `configmap/${AUTHENTICATION_CONFIGMAP.name} in ${AUTHENTICATION_CONFIGMAP.namespace}`;
  try {
    const cm = await client.get<ConfigMap>(CONFIGMAPS, AUTHENTICATION_CONFIGMAP.namespace, AUTHENTICATION_CONFIGMAP.name);
    const ca = cm.data?.[AUTHENTICATION_CONFIGMAP.key];
    if (ca !== undefined && ca !== "") return ca;
    logger.info({ configmap: where }, `No ${AUTHENTICATION_CONFIGMAP.key} in the authentication ConfigMap: client certificate authentication is off`);
    return undefined;
  } catch (err) {
    if (isNotFound(err)) {
      logger.info({ configmap: where }, "No authentication ConfigMap: client certificate authentication is off (give --client-ca-file)");
      return undefined;
    }
    if (!flags.authenticationTolerateLookupFailure) throw new Error(`unable to load ${where}: ${err instanceof Error ? err.message : String(err)}`);
    logger.warn({ err, configmap: where }, "Error looking up in-cluster authentication configuration; continuing without client certificate authentication (--authentication-tolerate-lookup-failure=false makes this fatal)");
    return undefined;
  }
}
