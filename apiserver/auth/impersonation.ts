// Impersonation (`kubectl --as`, `--as-group`, `--as-uid`): Impersonate-User, Impersonate-Group (repeated),
// Impersonate-Uid and Impersonate-Extra-<key> headers make the request run as another user. Each thing asked for is
// an `impersonate` check of the requester with the authorizer: users (serviceaccounts for system:serviceaccount:
// names), groups, uids, userextras/<key>; the first refusal is the request's 403.
import type { IncomingMessage } from "node:http";
import { StatusError } from "../../api/errors.js";
import type { UserInfo } from "../../api/types/index.js";
import { forbidden } from "./attributes.js";
import type { Attributes, Authorizer } from "./authorizer.js";
import { ANONYMOUS_USER, AUTHENTICATED_GROUP } from "./authenticate.js";

const USER = "impersonate-user";
const GROUP = "impersonate-group";
const UID = "impersonate-uid";
const EXTRA = "impersonate-extra-";
const AUTHENTICATION_GROUP = "authentication.k8s.io";
const UNAUTHENTICATED_GROUP = "system:unauthenticated";
const SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

export interface ImpersonationRequest {
  username: string | undefined;
  groups: string[];
  uid: string | undefined;
  extra: Record<string, string[]>;
}

const IMPERSONATE_PREFIX_LENGTH = "impersonate-".length;
const LOWER_I = 0x69;

/** The impersonation a request's headers ask for, or undefined when it has none. */
export function impersonationRequest(req: IncomingMessage): ImpersonationRequest | undefined {
  // rawHeaders keeps repeated headers apart (a group name may hold a comma); most requests have no Impersonate-*.
  const raw = req.rawHeaders;
  let found: ImpersonationRequest | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // Every request has a few headers and few are Impersonate-*: those that cannot be are skipped before lower-casing.
    const header = raw[i]!;
    if (header.length < IMPERSONATE_PREFIX_LENGTH || (header.charCodeAt(0) | 0x20) !== LOWER_I) continue;
    const name = header.toLowerCase();
    if (!name.startsWith("impersonate-")) continue;
    const value = raw[i + 1]!;
    found ??= { username: undefined, groups: [], uid: undefined, extra: {} };
    if (name === USER) found.username ??= value;
    else if (name === GROUP) found.groups.push(value);
    else if (name === UID) found.uid ??= value;
    else if (name.startsWith(EXTRA)) {
      const key = decodeExtraKey(name.slice(EXTRA.length));
      found.extra[key] = [...(found.extra[key] ?? []), value];
    }
  }
  return found;
}

/** Header names are case-insensitive, so extra keys are lower-cased; other bytes travel percent-encoded. */
function decodeExtraKey(raw: string): string {
  try {
    return decodeURIComponent(raw).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** Removes the impersonation headers once they are applied, so that nothing downstream (proxies) acts on them again. */
export function dropImpersonationHeaders(req: IncomingMessage): void {
  for (const name of Object.keys(req.headers)) if (name === USER || name === GROUP || name === UID || name.startsWith(EXTRA)) Reflect.deleteProperty(req.headers, name);
}

/**
 * The user `requester` becomes, each part checked with `authorizer` (unless `authorizer` is undefined: the insecure
 * port, which authorizes nothing). Throws 403 for a refused part, 500 when groups/uid/extra come without a user.
 */
export async function impersonate(request: ImpersonationRequest, requester: UserInfo, path: string, authorizer: Authorizer | undefined): Promise<UserInfo> {
  if (request.username === undefined || request.username === "") {
    throw new StatusError(500, "InternalError", `Internal error occurred: requested ${describe(request)} without impersonating a user`);
  }
  const username = request.username;
  const check = async (attributes: Omit<Attributes, "user" | "verb" | "resourceRequest" | "path" | "apiVersion">): Promise<void> => {
    if (authorizer === undefined) return;
    const full: Attributes = { ...attributes, user: requester, verb: "impersonate", resourceRequest: true, path, apiVersion: "" };
    const result = await authorizer.authorize(full);
    if (result.decision !== "allow") throw forbidden(full, result.reason);
  };
  const serviceAccount = serviceAccountOf(username);
  if (serviceAccount) await check({ apiGroup: "", namespace: serviceAccount.namespace, resource: "serviceaccounts", subresource: "", name: serviceAccount.name });
  else await check({ apiGroup: "", namespace: "", resource: "users", subresource: "", name: username });
  for (const group of request.groups) await check({ apiGroup: "", namespace: "", resource: "groups", subresource: "", name: group });
  for (const [key, values] of Object.entries(request.extra)) {
    for (const value of values) await check({ apiGroup: AUTHENTICATION_GROUP, namespace: "", resource: "userextras", subresource: key, name: value });
  }
  if (request.uid !== undefined) await check({ apiGroup: AUTHENTICATION_GROUP, namespace: "", resource: "uids", subresource: "", name: request.uid });

  const groups = [...request.groups];
  if (serviceAccount && groups.length === 0) groups.push("system:serviceaccounts", `system:serviceaccounts:${serviceAccount.namespace}`);
  if (username === ANONYMOUS_USER.username) {
    if (!groups.includes(UNAUTHENTICATED_GROUP)) groups.push(UNAUTHENTICATED_GROUP);
  } else if (!groups.includes(AUTHENTICATED_GROUP) && !groups.includes(UNAUTHENTICATED_GROUP)) {
    groups.push(AUTHENTICATED_GROUP);
  }
  const user: UserInfo = { username, groups };
  if (request.uid !== undefined) user.uid = request.uid;
  if (Object.keys(request.extra).length > 0) user.extra = request.extra;
  return user;
}

function serviceAccountOf(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const [namespace = "", name = "", ...rest] = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(":");
  return namespace !== "" && name !== "" && rest.length === 0 ? { namespace, name } : undefined;
}

function describe(request: ImpersonationRequest): string {
  const parts = [...request.groups.map((g) => `Group=${g}`), ...Object.entries(request.extra).flatMap(([k, vs]) => vs.map((v) => `Extra[${k}]=${v}`))];
  if (request.uid !== undefined) parts.push(`UID=${request.uid}`);
  return `[${parts.join(" ")}]`;
}
