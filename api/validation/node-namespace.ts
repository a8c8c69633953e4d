// Nodes (taints, pod CIDRs, what an update may not change) and Namespaces.
import type { FieldError } from "../errors.js";
import { validateLabelValue } from "../labels.js";
import type { Namespace, Node } from "../types/index.js";
import { duplicate, forbidden, invalid, notSupported, raw, required, tooMany } from "./field-errors.js";
import { deepEqual, includes, isObj, listOf, objectsOf, str } from "./helpers.js";
import { cidrErrors, qualifiedNameErrors } from "./names.js";
import { TAINT_EFFECTS } from "./pod-spec.js";

export function validateNode(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(node.spec) ? node.spec : {};
  const cidrs = listOf(spec.podCIDRs);
  if (cidrs.length > 2) errs.push(tooMany("spec.podCIDRs", cidrs.length, 2));
  cidrs.forEach((cidr, i) => errs.push(...cidrErrors(`spec.podCIDRs[${i}]`, str(cidr))));
  if (spec.podCIDR && cidrs.length === 0) errs.push(...cidrErrors("spec.podCIDR", str(spec.podCIDR)));
  const seen = new Set<string>();
  objectsOf(spec.taints).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    if (!isObj(t)) return;
    errs.push(...qualifiedNameErrors(`${p}.key`, str(t.key ?? "")));
    const valueMsgs = validateLabelValue(str(t.value ?? ""));
    if (valueMsgs.length > 0) errs.push(invalid(`${p}.value`, t.value ?? "", valueMsgs.join(";")));
    if (!t.effect) errs.push(required(`${p}.effect`));
    else if (!includes(TAINT_EFFECTS, t.effect)) errs.push(notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    const key = `${t.effect}\u0000${t.key}`;
    if (seen.has(key)) {
      const timeAdded = t.timeAdded ? `time.Date(${JSON.stringify(t.timeAdded)})` : "(*v1.Time)(nil)";
      const value = raw(`core.Taint{Key:${JSON.stringify(t.key ?? "")}, Value:${JSON.stringify(t.value ?? "")}, Effect:${JSON.stringify(t.effect ?? "")}, TimeAdded:${timeAdded}}`);
      errs.push({ ...duplicate(p, value), message: `${duplicate(p, value).message}: taints must be unique by key and effect pair` });
    }
    seen.add(key);
  });
  return errs;
}

export function validateNodeUpdate(next: Node, prev: Node): FieldError[] {
  const errs: FieldError[] = [];
  const prevCIDRs = listOf(prev.spec?.podCIDRs);
  const nextCIDRs = listOf(next.spec?.podCIDRs);
  // The node IPAM controller may assign CIDRs once; after that they are fixed.
  if (prevCIDRs.length > 0 && !deepEqual(prevCIDRs, nextCIDRs)) {
    errs.push(forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'));
  }
  const prevProvider = prev.spec?.providerID;
  if (prevProvider && prevProvider !== next.spec?.providerID) {
    errs.push(forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'));
  }
  return errs;
}

const STANDARD_FINALIZERS = new Set(["kubernetes", "orphan", "foregroundDeletion"]);

export function validateNamespace(ns: Namespace): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of listOf(ns.spec?.finalizers)) {
    const name = str(f);
    errs.push(...qualifiedNameErrors("spec.finalizers", name));
    if (!name.includes("/") && !STANDARD_FINALIZERS.has(name)) {
      errs.push(invalid("spec.finalizers", name, "name is neither a standard finalizer name nor is it fully qualified"));
    }
  }
  return errs;
}
