// ConfigMaps and Secrets: keys, sizes, and immutability.
import type { FieldError } from "../errors.js";
import type { ConfigMap, Secret } from "../types/index.js";
import { forbidden, invalid, required, tooLong } from "./field-errors.js";
import { deepEqual, isObj, sortedEntries, str } from "./helpers.js";
import { configMapKeyErrors } from "./names.js";

const MAX_DATA_SIZE = 1024 * 1024;

export function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs: FieldError[] = [];
  const data = isObj(cm.data) ? cm.data : {};
  const binary = isObj(cm.binaryData) ? cm.binaryData : {};
  let size = 0;
  for (const [key, value] of sortedEntries(data)) {
    for (const msg of configMapKeyErrors(str(key))) errs.push(invalid(`data[${key}]`, key, msg));
    if (key in binary) errs.push(invalid(`data[${key}]`, key, "duplicate of key present in binaryData"));
    size += Buffer.byteLength(str(value));
  }
  for (const [key, value] of sortedEntries(binary)) {
    for (const msg of configMapKeyErrors(str(key))) errs.push(invalid(`binaryData[${key}]`, key, msg));
    if (key in data) errs.push(invalid(`binaryData[${key}]`, key, "duplicate of key present in data"));
    errs.push(...base64Errors(`binaryData[${key}]`, value));
    size += decodedLength(str(value));
  }
  if (size > MAX_DATA_SIZE) errs.push(tooLong("", MAX_DATA_SIZE));
  return errs;
}

/** Data keys each secret type requires (ValidateSecret). */
const SECRET_TYPE_KEYS: Record<string, { any?: string[]; all?: string[] }> = {
  "kubernetes.io/dockercfg": { all: [".dockercfg"] },
  "kubernetes.io/dockerconfigjson": { all: [".dockerconfigjson"] },
  "kubernetes.io/basic-auth": { any: ["username", "password"] },
  "kubernetes.io/ssh-auth": { all: ["ssh-privatekey"] },
  "kubernetes.io/tls": { all: ["tls.crt", "tls.key"] },
};

export function validateSecret(secret: Secret): FieldError[] {
  const errs: FieldError[] = [];
  const data = isObj(secret.data) ? secret.data : {};
  let size = 0;
  for (const [key, value] of sortedEntries(data)) {
    for (const msg of configMapKeyErrors(str(key))) errs.push(invalid(`data[${key}]`, key, msg));
    errs.push(...base64Errors(`data[${key}]`, value));
    size += decodedLength(str(value));
  }
  if (size > MAX_DATA_SIZE) errs.push(tooLong("data", MAX_DATA_SIZE));
  const type = secret.type ?? "";
  if (type === "kubernetes.io/service-account-token") {
    const key = "kubernetes.io/service-account.name";
    if (!secret.metadata.annotations?.[key]) errs.push(required(`metadata.annotations[${key}]`));
  }
  const rule = SECRET_TYPE_KEYS[type];
  if (rule?.all) for (const key of rule.all) if (!(key in data)) errs.push(required(`data[${key}]`));
  if (rule?.any && !rule.any.some((key) => key in data)) for (const key of rule.any) errs.push(required(`data[${key}]`));
  return errs;
}

/**
 * Why a request body's []byte fields (Secret data, ConfigMap binaryData) cannot be decoded: Kubernetes' decoder
 * refuses a value that is not standard base64 before any validation runs (a 400, not a 422). Undefined when they can.
 */
export function bytesDecodeError(kind: string, object: Record<string, unknown>): string | undefined {
  const field = kind === "Secret" ? "data" : kind === "ConfigMap" ? "binaryData" : undefined;
  const values = field === undefined ? undefined : object[field];
  if (typeof values !== "object" || values === null) return undefined;
  for (const value of Object.values(values)) {
    if (typeof value !== "string") continue;
    const at = base64ErrorAt(value);
    if (at >= 0) return `illegal base64 data at input byte ${at}`;
  }
  return undefined;
}

/** JSON []byte values are standard base64; Kubernetes rejects anything else while decoding the body. */
function base64Errors(field: string, value: unknown): FieldError[] {
  const s = str(value);
  const at = base64ErrorAt(s);
  return at < 0 ? [] : [invalid(field, s, `illegal base64 data at input byte ${at}`)];
}

/** The offset at which Go's base64 decoder gives up on `s`, or -1 when it decodes. */
function base64ErrorAt(s: string): number {
  const bad = s.search(/[^A-Za-z0-9+/=]/);
  const padding = /=*$/.exec(s)?.[0].length ?? 0;
  const misplacedPad = s.slice(0, s.length - padding).indexOf("=");
  let at = -1;
  if (bad >= 0) at = bad;
  else if (misplacedPad >= 0) at = misplacedPad;
  else if (s.length % 4 !== 0 || padding > 2) at = s.length - (s.length % 4 || 4);
  return at;
}

function decodedLength(b64: string): number {
  const padding = /=*$/.exec(b64)?.[0].length ?? 0;
  return Math.max(0, Math.floor((b64.length * 3) / 4) - padding);
}

/** With `immutable: true`, data can no longer change and the flag can no longer be unset. */
export function validateImmutableData<T extends ConfigMap | Secret>(next: T, prev: T, fields: readonly ("data" | "binaryData")[]): FieldError[] {
  if (prev.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (next.immutable !== true) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
  for (const f of fields) {
    if (!deepEqual((next as Record<string, unknown>)[f], (prev as Record<string, unknown>)[f])) {
      errs.push(forbidden(f, "field is immutable when `immutable` is set"));
    }
  }
  return errs;
}
