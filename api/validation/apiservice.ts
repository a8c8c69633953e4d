// APIServices (apiregistration.k8s.io), with Kubernetes' rules: the name is <version>.<group>, priorities in
// range, a service reference names its Service, and TLS is verified with a CA bundle or explicitly skipped, not both.
import type { FieldError } from "../errors.js";
import { isRecord, type KubeObject } from "../meta.js";
import { forbidden, invalid, required } from "./field-errors.js";
import { str } from "./helpers.js";

export function validateAPIService(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const rawSpec = (obj as { spec?: unknown }).spec;
  const spec: Record<string, unknown> = isRecord(rawSpec) ? rawSpec : {};
  const group = typeof spec.group === "string" ? spec.group : "";
  const version = typeof spec.version === "string" ? spec.version : "";
  const name = str(obj.metadata.name);
  const expected = `${version}.${group}`;
  if (name !== expected) errs.push(invalid("metadata.name", name, `must be \`spec.version+"."+spec.group\`: "${expected}"`));
  if (version === "") errs.push(required("spec.version"));
  if (typeof spec.groupPriorityMinimum !== "number" || spec.groupPriorityMinimum <= 0 || spec.groupPriorityMinimum > 20000) {
    errs.push(invalid("spec.groupPriorityMinimum", spec.groupPriorityMinimum ?? 0, "must be positive and less than 20000"));
  }
  if (typeof spec.versionPriority !== "number" || spec.versionPriority <= 0 || spec.versionPriority > 1000) {
    errs.push(invalid("spec.versionPriority", spec.versionPriority ?? 0, "must be positive and less than 1000"));
  }
  const service = spec.service;
  if (isRecord(service)) {
    if (typeof service.namespace !== "string" || service.namespace === "") errs.push(required("spec.service.namespace"));
    if (typeof service.name !== "string" || service.name === "") errs.push(required("spec.service.name"));
    const port = service.port;
    if (port !== undefined && (typeof port !== "number" || port < 1 || port > 65535)) errs.push(invalid("spec.service.port", port, "port is not valid: must be between 1 and 65535, inclusive"));
    if (spec.insecureSkipTLSVerify === true && typeof spec.caBundle === "string" && spec.caBundle !== "") errs.push(invalid("spec.insecureSkipTLSVerify", true, "may not be true if caBundle is present"));
  } else {
    if (group === "" && version !== "v1") errs.push(required("spec.group", "only v1 may have an empty group and it better be legacy kube"));
    if (spec.insecureSkipTLSVerify === true) errs.push(forbidden("spec.insecureSkipTLSVerify", "may not be set for a local APIService"));
  }
  return errs;
}
