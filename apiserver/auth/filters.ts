// The request pipeline in front of every handler, Kubernetes' filter chain: authenticate → impersonate →
// authorize, leaving the user beside the request (setRequestUser) for the handlers, admission and the reviews.
// The secure port (TLS) runs all three; the insecure port keeps 0.18's behaviour: no authentication (the unsecured
// superuser, or the service account of a valid token), impersonation headers applied unchecked, no authorization.
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import type { UserInfo } from "../../api/types/index.js";
import type { Logger } from "../../component-base/logging.js";
import type { RequestInfo } from "../request-info.js";
import { forbidden, requestAttributes, unauthorized } from "./attributes.js";
import { authenticateRequest, type RequestAuthenticator } from "./authenticate.js";
import { anonymousAllowed, type AnonymousConfig } from "./authentication-config.js";
import type { Attributes, Authorizer } from "./authorizer.js";
import { dropImpersonationHeaders, impersonate, impersonationRequest } from "./impersonation.js";
import { setRequestUser } from "./request-user.js";

export interface RequestAuthOptions {
  /** The secure port's authenticators, asked in order. */
  authenticators: readonly RequestAuthenticator[];
  /** --anonymous-auth, or --authentication-config's anonymous section (which may allow some paths only). */
  anonymous: AnonymousConfig;
  /** --authorization-mode's authorizer. */
  authorizer: Authorizer;
  /** The insecure port's user of a request. */
  insecureUser(req: IncomingMessage): Promise<UserInfo>;
  logger: Logger;
}

/** A request's admission marks (RequestAuth.admittedMark). */
type AdmissionMarks = IncomingMessage & Record<symbol, boolean | undefined>;

export class RequestAuth {
  /** Marks, as the request's own member, a request this filter has admitted (cheaper per request than a WeakSet). */
  private readonly admittedMark = Symbol("kubelab.admitted");

  constructor(private readonly options: RequestAuthOptions) {}

  /**
   * Sets the request's user and checks that user may make it; throws the 401/403 (or impersonation's 500) Status
   * to answer with. `info` is the resource the request addresses, undefined for a non-resource path.
   */
  async admit(req: IncomingMessage, info: RequestInfo | undefined, path: string): Promise<void> {
    if ((req as AdmissionMarks)[this.admittedMark] === true) return;
    const secure = req.socket instanceof TLSSocket;
    let user: UserInfo;
    if (secure) {
      const authenticated = await authenticateRequest(req, this.options.authenticators, { anonymous: anonymousAllowed(this.options.anonymous, path) });
      if ("error" in authenticated) {
        this.options.logger.info({ method: req.method, path, reason: authenticated.error }, "Unable to authenticate the request");
        throw unauthorized();
      }
      user = authenticated.user;
      // As Kubernetes, the credential does not travel further (proxied requests, handlers).
      delete req.headers.authorization;
    } else {
      user = await this.options.insecureUser(req);
    }
    const asked = impersonationRequest(req);
    if (asked !== undefined) {
      try {
        user = await impersonate(asked, user, path, secure ? this.options.authorizer : undefined);
      } catch (err) {
        this.options.logger.warn({ user: user.username, groups: user.groups, impersonate: asked.username, path, reason: err instanceof Error ? err.message : String(err) }, "impersonation refused");
        throw err;
      }
      dropImpersonationHeaders(req);
    }
    setRequestUser(req, user);
    if (secure) await this.authorize(requestAttributes(user, req.method ?? "GET", path, info));
    (req as AdmissionMarks)[this.admittedMark] = true;
  }

  private async authorize(attributes: Attributes): Promise<void> {
    const result = await this.options.authorizer.authorize(attributes);
    if (result.decision === "allow") return;
    // The audit of denials: one line per refused request.
    this.options.logger.warn(
      {
        user: attributes.user.username,
        groups: attributes.user.groups,
        verb: attributes.verb,
        ...(attributes.resourceRequest
          ? { resource: attributes.subresource !== "" ? `${attributes.resource}/${attributes.subresource}` : attributes.resource, apiGroup: attributes.apiGroup, namespace: attributes.namespace, name: attributes.name }
          : { path: attributes.path }),
        reason: result.reason,
      },
      "Forbidden",
    );
    throw forbidden(attributes, result.reason);
  }
}
