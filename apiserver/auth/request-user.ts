// The user a request was authenticated as, kept beside the request as Kubernetes keeps it in the request's
// context: the authentication filter sets it once, authorization, admission and the handlers read it.
import type { IncomingMessage } from "node:http";
import type { UserInfo } from "../../api/types/index.js";

/**
 * The request's own (symbol-keyed) member holding its user: every request sets and reads it, and a member costs a
 * fraction of a WeakMap entry, which also weighs on every garbage collection while the request lives.
 */
const USER = Symbol("kubelab.requestUser");

type WithUser = IncomingMessage & { [USER]?: UserInfo };

export function setRequestUser(req: IncomingMessage, user: UserInfo): void {
  (req as WithUser)[USER] = user;
}

/** The authenticated user, or undefined before authentication ran. */
export function requestUserOf(req: IncomingMessage): UserInfo | undefined {
  return (req as WithUser)[USER];
}
