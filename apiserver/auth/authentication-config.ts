// --authentication-config: Kubernetes' structured authentication configuration file (kind
// AuthenticationConfiguration, apiserver.config.k8s.io v1alpha1/v1beta1, as kube-apiserver 1.32 reads it). Its
// `anonymous` section (KEP-4633, beta and on by default in 1.32) replaces --anonymous-auth: `enabled`, and with
// `conditions` anonymous requests are allowed only on those exact paths (a load balancer's /livez, /readyz,
// /healthz) and are 401 everywhere else. Setting both the section and the flag is refused at start, with
// Kubernetes' error; so is `conditions` with `enabled: false`. The file is decoded strictly (an unknown field is
// an error). JWT authenticators (`jwt`) are not implemented: an empty list is accepted, any entry refused at start.
// Docs: https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-authenticator-configuration
// (the real kube-apiserver v1.26 the differential suites run has no such file, so this is not compared live).
import { readFileSync } from "node:fs";
import { yaml } from "../../api/yaml.js";

export const AUTHENTICATION_CONFIG_GROUP = "apiserver.config.k8s.io";
const VERSIONS = ["v1alpha1", "v1beta1", "v1"];
const KIND = "AuthenticationConfiguration";

/** Who is anonymous: nobody, everybody without a credential, or those on `paths` only. */
export interface AnonymousConfig {
  enabled: boolean;
  /** When set, anonymous requests are allowed on these exact URL paths only. */
  paths?: ReadonlySet<string>;
}

export interface AuthenticationConfiguration {
  anonymous?: { enabled: boolean; conditions: { path: string }[] };
}

/** A file that cannot be used; the apiserver stops at start with its message. */
export class AuthenticationConfigError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownFields(object: Record<string, unknown>, known: readonly string[], path: string): string[] {
  return Object.keys(object).filter((k) => !known.includes(k)).map((k) => `unknown field "${path}${k}"`);
}

/** Decodes and validates the file's text; throws AuthenticationConfigError naming every problem. */
export function parseAuthenticationConfig(text: string, file: string): AuthenticationConfiguration {
  let document: unknown;
  try {
    document = yaml().parse(text);
  } catch (err) {
    throw new AuthenticationConfigError(`failed to decode authentication-config file ${JSON.stringify(file)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(document)) throw new AuthenticationConfigError(`failed to decode authentication-config file ${JSON.stringify(file)}: not a YAML or JSON object`);
  const apiVersion = document.apiVersion;
  const kind = document.kind;
  if (typeof apiVersion !== "string" || !VERSIONS.some((v) => apiVersion === `${AUTHENTICATION_CONFIG_GROUP}/${v}`) || kind !== KIND) {
    throw new AuthenticationConfigError(
      `failed to decode authentication-config file ${JSON.stringify(file)}: no kind ${JSON.stringify(typeof kind === "string" ? kind : "")} is registered for version ${JSON.stringify(typeof apiVersion === "string" ? apiVersion : "")} (want kind ${KIND} of ${VERSIONS.map((v) => `${AUTHENTICATION_CONFIG_GROUP}/${v}`).join(", ")})`,
    );
  }
  const decodeErrors = unknownFields(document, ["apiVersion", "kind", "jwt", "anonymous"], "");
  const errors: string[] = [];
  const config: AuthenticationConfiguration = {};
  const jwt = document.jwt;
  if (jwt !== undefined && jwt !== null) {
    if (!Array.isArray(jwt)) decodeErrors.push('field "jwt": expected a list');
    else if (jwt.length > 0) errors.push("jwt: Forbidden: JWT authenticators are not supported by kubelab's apiserver (only `jwt: []`)");
  }
  const anonymous = document.anonymous;
  if (anonymous !== undefined && anonymous !== null) {
    if (!isRecord(anonymous)) {
      decodeErrors.push('field "anonymous": expected an object');
    } else {
      decodeErrors.push(...unknownFields(anonymous, ["enabled", "conditions"], "anonymous."));
      const enabled = anonymous.enabled ?? false;
      if (typeof enabled !== "boolean") decodeErrors.push('field "anonymous.enabled": expected a boolean');
      const conditions: { path: string }[] = [];
      const rawConditions = anonymous.conditions ?? [];
      if (!Array.isArray(rawConditions)) {
        decodeErrors.push('field "anonymous.conditions": expected a list');
      } else {
        rawConditions.forEach((condition: unknown, i) => {
          if (!isRecord(condition)) {
            decodeErrors.push(`field "anonymous.conditions[${i}]": expected an object`);
            return;
          }
          decodeErrors.push(...unknownFields(condition, ["path"], `anonymous.conditions[${i}].`));
          const path = condition.path ?? "";
          if (typeof path !== "string") decodeErrors.push(`field "anonymous.conditions[${i}].path": expected a string`);
          else conditions.push({ path });
        });
      }
      if (enabled !== true && conditions.length > 0) errors.push("anonymous.conditions: Invalid value: enabled should be set to true when conditions are defined");
      config.anonymous = { enabled: enabled === true, conditions };
    }
  }
  if (decodeErrors.length > 0) throw new AuthenticationConfigError(`failed to decode authentication-config file ${JSON.stringify(file)}: strict decoding error: ${decodeErrors.join(", ")}`);
  if (errors.length > 0) throw new AuthenticationConfigError(`invalid authentication configuration: ${errors.length === 1 ? errors[0]! : `[${errors.join(", ")}]`}`);
  return config;
}

export function loadAuthenticationConfig(file: string): AuthenticationConfiguration {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new AuthenticationConfigError(`failed to read authentication-config file ${JSON.stringify(file)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseAuthenticationConfig(text, file);
}

/**
 * Anonymous authentication from --anonymous-auth (its value, and whether it was given) and the file's section:
 * the section when there is one, else the flag; both is an error, as in Kubernetes.
 */
export function anonymousConfigFrom(flag: { value: boolean; set: boolean }, config: AuthenticationConfiguration | undefined): AnonymousConfig {
  const section = config?.anonymous;
  if (section === undefined) return { enabled: flag.value };
  if (flag.set) throw new AuthenticationConfigError("anonymous: Forbidden: --anonymous-auth flag cannot be set when anonymous field is configured in authentication configuration file");
  if (!section.enabled) return { enabled: false };
  return section.conditions.length > 0 ? { enabled: true, paths: new Set(section.conditions.map((c) => c.path)) } : { enabled: true };
}

/** Whether a request on `path` without a credential is system:anonymous (else 401). */
export function anonymousAllowed(config: AnonymousConfig, path: string): boolean {
  return config.enabled && (config.paths === undefined || config.paths.has(path));
}
