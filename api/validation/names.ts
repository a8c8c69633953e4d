// Names and other string formats, as k8s.io/apimachinery/pkg/util/validation checks them.
import { isIP } from "node:net";
import type { FieldError } from "../errors.js";
import { validateLabelKey } from "../labels.js";
import { invalid } from "./field-errors.js";
import { str } from "./helpers.js";

const CONFIG_MAP_KEY = "[-._a-zA-Z0-9]+";
export const PERCENT = "[0-9]+%";

/** Kubernetes' RegexError: the message, examples, and the regex itself. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e, i) => `${i > 0 ? " or " : ""}'${e}', `).join("")}regex used for validation is '${fmt}')`;
}

export function matchesWhole(fmt: string, value: string): boolean {
  return new RegExp(`^(?:${fmt})$`).test(value);
}

function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** Names that become a URL path segment (core events, whose names are otherwise free-form). */
export function pathSegmentErrors(value: string): string[] {
  if (value === ".") return ["may not be '.'"];
  if (value === "..") return ["may not be '..'"];
  const errs: string[] = [];
  for (const ch of ["/", "%"]) if (value.includes(ch)) errs.push(`may not contain '${ch}'`);
  return errs;
}

export function configMapKeyErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!matchesWhole(CONFIG_MAP_KEY, value)) {
    errs.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_MAP_KEY, "key.name", "KEY_NAME", "key-name"));
  }
  if (value === ".") errs.push("must not be '.'");
  else if (value === "..") errs.push("must not be '..'");
  else if (value.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

export function portNumErrors(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : ["must be between 1 and 65535, inclusive"];
}

/** Environment variable names, with the relaxed rule Kubernetes 1.32 applies by default. */
export function envVarNameErrors(name: string): string[] {
   
  return /^[\x20-\x3c\x3e-\x7e]+$/.test(name) ? [] : ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
}

const IP_EXAMPLE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

export function ipErrors(field: string, value: string): FieldError[] {
  return isIP(value) === 0 ? [invalid(field, value, IP_EXAMPLE)] : [];
}

export function cidrErrors(field: string, value: string): FieldError[] {
  const [ip, bits, extra] = value.split("/");
  const family = isIP(ip ?? "");
  const n = Number(bits);
  const ok = extra === undefined && family !== 0 && bits !== undefined && /^[0-9]+$/.test(bits) && n <= (family === 4 ? 32 : 128);
  return ok ? [] : [invalid(field, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")];
}

/** Qualified names (label keys, annotation keys, finalizers, condition types): the labels module's rule. */
export function qualifiedNameErrors(field: string, value: unknown): FieldError[] {
  return validateLabelKey(str(value)).map((msg) => invalid(field, value, msg));
}
