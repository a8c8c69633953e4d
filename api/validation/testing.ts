// What the validation tests share: defaulting and validating as the registry does, and Kubernetes' messages.
import { applyDefaults } from "../defaults.js";
import type { KubeObject } from "../meta.js";
import { RESOURCES, type ResourceInfo } from "../resources.js";
import { validateObject, validateUpdate } from "./index.js";

export function info(group: string, kind: string): ResourceInfo {
  const found = RESOURCES.find((r) => r.group === group && r.kind === kind);
  if (!found) throw new Error(`no resource ${group}/${kind}`);
  return found;
}

function groupOf(obj: KubeObject): string {
  const apiVersion = obj.apiVersion ?? "v1";
  return apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
}

/** Defaults `obj` as the registry would, then validates it; errors as kubectl prints them (`field: message`). */
export function problems(obj: KubeObject): string[] {
  const i = info(groupOf(obj), obj.kind ?? "");
  applyDefaults(i, obj);
  return validateObject(i, obj).map((e) => `${e.field}: ${e.message}`);
}

export function updateProblems(next: KubeObject, prev: KubeObject): string[] {
  const i = info(groupOf(next), next.kind ?? "");
  applyDefaults(i, prev);
  applyDefaults(i, next);
  return validateUpdate(i, next, prev).map((e) => `${e.field}: ${e.message}`);
}

export function edit<T>(obj: T, change: (o: T) => void): T {
  change(obj);
  return obj;
}

export const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
export const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
