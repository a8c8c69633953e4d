// admissionregistration.k8s.io/v1 webhook configurations (pkg/apis/admissionregistration/validation) and apps/v1
// ControllerRevisions.
import type { FieldError } from "../errors.js";
import { isDNS1123Subdomain } from "../labels.js";
import type { ControllerRevision, WebhookConfiguration } from "../types/index.js";
import { duplicate, immutable, invalid, notSupported, raw, required } from "./field-errors.js";
import { deepEqual, listOf, objectsOf, str } from "./helpers.js";
import { validateLabelSelector } from "./label-selectors.js";

const SIDE_EFFECTS = ["None", "NoneOnDryRun"] as const;
const REVIEW_VERSIONS = ["v1", "v1beta1"] as const;

export function validateWebhookConfiguration(config: WebhookConfiguration, mutating: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  objectsOf(config.webhooks).forEach((hook, i) => {
    const path = `webhooks[${i}]`;
    const name = str(hook.name);
    if (name === "") errs.push(required(`${path}.name`));
    else {
      errs.push(...isDNS1123Subdomain(name).map((msg) => invalid(`${path}.name`, name, msg)));
      if (name.split(".").length < 3) errs.push(invalid(`${path}.name`, name, "should be a domain with at least three segments separated by dots"));
      if (names.has(name)) errs.push(duplicate(`${path}.name`, name));
      names.add(name);
    }
    if (hook.sideEffects === undefined) errs.push(required(`${path}.sideEffects`, `must specify one of ${SIDE_EFFECTS.join(", ")}`));
    else if (!(SIDE_EFFECTS as readonly string[]).includes(hook.sideEffects)) errs.push(notSupported(`${path}.sideEffects`, hook.sideEffects, SIDE_EFFECTS));
    const versions = listOf(hook.admissionReviewVersions);
    if (versions.length === 0) errs.push(required(`${path}.admissionReviewVersions`, `must specify one of ${REVIEW_VERSIONS.join(", ")}`));
    else if (!versions.some((v) => (REVIEW_VERSIONS as readonly string[]).includes(str(v)))) {
      errs.push(invalid(`${path}.admissionReviewVersions`, versions, `must include at least one of ${REVIEW_VERSIONS.join(", ")}`));
    }
    const client = hook.clientConfig ?? {};
    if ((client.url === undefined) === (client.service === undefined)) errs.push(required(`${path}.clientConfig`, "exactly one of url or service is required"));
    if (client.url !== undefined && !client.url.startsWith("https://")) errs.push(invalid(`${path}.clientConfig.url`, client.url, "'https' is the only allowed URL scheme"));
    if (client.service !== undefined) {
      if (!client.service.namespace) errs.push(required(`${path}.clientConfig.service.namespace`, "service namespace is required"));
      if (!client.service.name) errs.push(required(`${path}.clientConfig.service.name`, "service name is required"));
    }
    const timeout = hook.timeoutSeconds;
    if (typeof timeout === "number" && (timeout < 1 || timeout > 30)) errs.push(invalid(`${path}.timeoutSeconds`, timeout, "the timeout value must be between 1 and 30 seconds"));
    if (hook.failurePolicy !== undefined && hook.failurePolicy !== "Ignore" && hook.failurePolicy !== "Fail") errs.push(notSupported(`${path}.failurePolicy`, hook.failurePolicy, ["Fail", "Ignore"]));
    if (hook.matchPolicy !== undefined && hook.matchPolicy !== "Exact" && hook.matchPolicy !== "Equivalent") errs.push(notSupported(`${path}.matchPolicy`, hook.matchPolicy, ["Equivalent", "Exact"]));
    if (mutating && hook.reinvocationPolicy !== undefined && hook.reinvocationPolicy !== "Never" && hook.reinvocationPolicy !== "IfNeeded") {
      errs.push(notSupported(`${path}.reinvocationPolicy`, hook.reinvocationPolicy, ["IfNeeded", "Never"]));
    }
    errs.push(...validateLabelSelector(hook.namespaceSelector, `${path}.namespaceSelector`));
    errs.push(...validateLabelSelector(hook.objectSelector, `${path}.objectSelector`));
    objectsOf(hook.rules).forEach((rule, j) => {
      const scope = rule.scope;
      if (scope !== undefined && !["Cluster", "Namespaced", "*"].includes(scope)) errs.push(notSupported(`${path}.rules[${j}].scope`, scope, ["*", "Cluster", "Namespaced"]));
      if (listOf(rule.operations).length === 0) errs.push(required(`${path}.rules[${j}].operations`));
      if (listOf(rule.resources).length === 0) errs.push(required(`${path}.rules[${j}].resources`));
    });
  });
  return errs;
}

export function validateControllerRevision(rev: ControllerRevision): FieldError[] {
  const errs: FieldError[] = [];
  if (rev.data === undefined) errs.push(required("data", "data is mandatory"));
  if (typeof rev.revision === "number" && rev.revision < 0) errs.push(invalid("revision", rev.revision, "must be greater than or equal to 0"));
  return errs;
}

export function validateControllerRevisionUpdate(next: ControllerRevision, prev: ControllerRevision): FieldError[] {
  return deepEqual(next.data, prev.data) ? [] : [immutable("data", raw("runtime.RawExtension{...}"))];
}
