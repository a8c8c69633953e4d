// serviceaccounts/<name>/token: the TokenRequest API. POST a TokenRequest, get it back with a signed,
// time-limited token for the service account, optionally bound to a Pod, Secret or Node so that it stops working
// when that object goes (`kubectl create token`, and the kubelet's projected tokens).
import { badRequest, conflict, invalid, methodNotAllowed, notFound, serviceUnavailable } from "../../../api/errors.js";
import type { FieldError } from "../../../api/errors.js";
import { isRecord, type KubeObject } from "../../../api/meta.js";
import { trackUpdate } from "../../../api/managed-fields/managers.js";
import { WHOLE_OBJECT } from "../../../api/managed-fields/structure.js";
import { formatTime } from "../../../api/time.js";
import type { BoundObjectReference, TokenRequest } from "../../../api/types/index.js";
import type { BoundObject, ServiceAccountTokens, TokenSubject } from "../../auth/service-account-tokens.js";
import type { StoreLookup, SubresourceHandler } from "../kind.js";

/** TokenRequestSpec's default and bounds. */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
const MIN_TOKEN_EXPIRATION_SECONDS = 600;
const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;

const BOUND_RESOURCES: Readonly<Record<string, string>> = { Pod: "pods", Secret: "secrets", Node: "nodes" };

export function tokenSubresource(tokenSource: (() => Promise<ServiceAccountTokens>) | undefined): SubresourceHandler {
  return async (request) => {
    if (request.method !== "POST") throw methodNotAllowed("the server does not allow this method on the requested resource");
    const body = await request.json();
    if (!isRecord(body)) throw badRequest("the body must be a TokenRequest object");
    const tokenRequest = body as TokenRequest;
    const namespace = request.namespace ?? "";
    const spec = isRecord(tokenRequest.spec) ? tokenRequest.spec : {};
    const expirationSeconds = spec.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
    const errs: FieldError[] = [];
    if (expirationSeconds < MIN_TOKEN_EXPIRATION_SECONDS) errs.push({ type: "FieldValueInvalid", field: "spec.expirationSeconds", message: `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes` });
    if (expirationSeconds > MAX_TOKEN_EXPIRATION_SECONDS) errs.push({ type: "FieldValueTooLong", field: "spec.expirationSeconds", message: `Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds` });
    if (errs.length > 0) throw invalid("TokenRequest", "authentication.k8s.io", request.name, errs);
    const tokens = await tokenSource?.();
    if (!tokens) throw serviceUnavailable("this apiserver has no service account signing key");
    const serviceAccount = await request.store.get(namespace, request.name);
    const audiences = spec.audiences && spec.audiences.length > 0 ? spec.audiences : [...tokens.apiAudiences];
    const subject: TokenSubject = {
      namespace,
      serviceAccountName: request.name,
      serviceAccountUid: serviceAccount.metadata.uid ?? "",
      audiences,
      expirationSeconds,
    };
    const ref = spec.boundObjectRef;
    if (ref) Object.assign(subject, await boundSubject(ref, namespace, request.name, request.storeFor));
    const { token, expiresAt } = tokens.issue(subject);
    const now = formatTime(Date.now());
    // As Kubernetes' create handler, the writer's Update is recorded on the TokenRequest (subresource token): the
    // fields the request set, expirationSeconds defaulted; never what the server fills in (audiences, status).
    // A field sent as null is not set (Kubernetes reads the request into its typed form first).
    const setFields = Object.fromEntries(Object.entries(spec).filter(([, value]) => value !== null));
    const written: KubeObject = { metadata: { name: request.name, namespace }, spec: { ...setFields, expirationSeconds } };
    const writer = { manager: request.fieldManager ?? "", apiVersion: "authentication.k8s.io/v1", subresource: "token", time: now };
    const managedFields = trackUpdate([], undefined, written, writer, WHOLE_OBJECT);
    const reply: TokenRequest = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: { name: request.name, namespace, creationTimestamp: now, ...(managedFields.length > 0 ? { managedFields } : {}) },
      // As Kubernetes' reply: boundObjectRef is always there, null when the token is bound to nothing.
      spec: { audiences, expirationSeconds, boundObjectRef: ref ?? null },
      status: { token, expirationTimestamp: formatTime(expiresAt * 1000) },
    };
    return { code: 201, body: reply };
  };
}

/** The bound object's claims; it must exist (in the service account's namespace unless a Node) with the given uid. */
async function boundSubject(ref: BoundObjectReference, namespace: string, serviceAccount: string, storeFor: StoreLookup): Promise<Partial<TokenSubject>> {
  const kind = ref.kind ?? "";
  const resource = BOUND_RESOURCES[kind];
  if (!resource) throw badRequest(`cannot bind token for serviceaccount ${JSON.stringify(serviceAccount)} to object of type ${kind}`);
  const store = storeFor("", "v1", resource);
  const objectNamespace = kind === "Node" ? undefined : namespace;
  const object = await store?.get(objectNamespace, ref.name ?? "").catch(() => undefined);
  if (!object) throw notFound(resource, ref.name ?? "");
  const uid = object.metadata.uid ?? "";
  if (ref.uid && ref.uid !== uid) {
    throw conflict(resource, ref.name ?? "", `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
  }
  const boundObject: BoundObject = { kind: kind as BoundObject["kind"], name: ref.name ?? "", uid };
  const out: Partial<TokenSubject> = { boundObject };
  const nodeName = kind === "Pod" && isRecord(object.spec) && typeof object.spec.nodeName === "string" ? object.spec.nodeName : "";
  if (nodeName) {
    const node = await storeFor("", "v1", "nodes")?.get(undefined, nodeName).catch(() => undefined);
    if (node) out.node = { name: nodeName, uid: node.metadata.uid ?? "" };
  }
  return out;
}
