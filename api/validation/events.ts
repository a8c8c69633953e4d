// Events, core/v1 and events.k8s.io/v1 (checked in the core form).
import type { FieldError } from "../errors.js";
import { isDNS1123Subdomain } from "../labels.js";
import type { CoreEvent } from "../types/index.js";
import { invalid, required } from "./field-errors.js";
import { isObj, str } from "./helpers.js";
import { pathSegmentErrors, qualifiedNameErrors } from "./names.js";
import { validateObjectMeta } from "./object-meta.js";

/**
 * Core events (legacyValidateEvent): the event's namespace matches its object's, and new-style events (with
 * eventTime) name their reporter, action and reason. `strict` adds the events.k8s.io/v1 rules.
 */
export function validateCoreEvent(ev: CoreEvent, strict: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const meta = isObj(ev.metadata) ? ev.metadata : {};
  const namespace = meta.namespace ?? "";
  const involved = isObj(ev.involvedObject) ? ev.involvedObject : {};
  const involvedNamespace = involved.namespace ?? "";
  const reporter = strict ? "reportingController" : "reportingComponent";
  if (strict) errs.push(...validateObjectMeta(meta, true, (n) => isDNS1123Subdomain(str(n)), "metadata"));
  else if (!meta.name) errs.push(required("metadata.name", "name or generateName is required"));
  else for (const msg of pathSegmentErrors(str(meta.name))) errs.push(invalid("metadata.name", meta.name, msg));
  if (!ev.eventTime) {
    if (involvedNamespace === "" ? namespace !== "" && namespace !== "default" : namespace !== involvedNamespace) {
      errs.push(invalid("involvedObject.namespace", involvedNamespace, "does not match event.namespace"));
    }
  } else {
    if (involvedNamespace === "" && namespace !== "default" && namespace !== "kube-system") {
      errs.push(invalid("involvedObject.namespace", involvedNamespace, "does not match event.namespace"));
    }
    const controller = ev.reportingComponent ?? "";
    if (!controller) errs.push(required(reporter));
    else errs.push(...qualifiedNameErrors(reporter, controller));
    if (!ev.reportingInstance) errs.push(required("reportingInstance"));
    else if (ev.reportingInstance.length > 128) errs.push(invalid("reportingInstance", "", "can have at most 128 characters"));
    if (!ev.action) errs.push(required("action"));
    else if (ev.action.length > 128) errs.push(invalid("action", "", "can have at most 128 characters"));
    if (!ev.reason) errs.push(required("reason"));
    else if (ev.reason.length > 128) errs.push(invalid("reason", "", "can have at most 128 characters"));
    if ((ev.message ?? "").length > 1024) errs.push(invalid("message", "", "can have at most 1024 characters"));
  }
  if (!strict) for (const msg of isDNS1123Subdomain(str(namespace))) errs.push(invalid("namespace", namespace, msg));
  if (strict) {
    if (!ev.eventTime) errs.push(required("eventTime"));
    if (ev.type !== "Normal" && ev.type !== "Warning") errs.push(invalid("type", "", `has invalid value: ${ev.type ?? ""}`));
    if (ev.firstTimestamp) errs.push(invalid("deprecatedFirstTimestamp", "", "needs to be unset"));
    if (ev.lastTimestamp) errs.push(invalid("deprecatedLastTimestamp", "", "needs to be unset"));
    if (ev.count) errs.push(invalid("deprecatedCount", "", "needs to be unset"));
    if (ev.source?.component || ev.source?.host) errs.push(invalid("deprecatedSource", "", "needs to be unset"));
  }
  return errs;
}
