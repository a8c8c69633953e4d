// The user a request was authenticated as, kept beside the request as Kubernetes keeps it in the request's
// context: the authentication filter sets it once, authorization, admission and the handlers read it.
import type { IncomingMessage } from "node:http";
import type { UserInfo } from "../../api/types/index.js";

const users = new WeakMap<IncomingMessage, UserInfo>();

export function setRequestUser(req: IncomingMessage, user: UserInfo): void {
  users.set(req, user);
}

/** The authenticated user, or undefined before authentication ran. */
export function requestUserOf(req: IncomingMessage): UserInfo | undefined {
  return users.get(req);
}
