// The ResourceQuota admission plugin: a create that would take a namespace past one of its ResourceQuotas' hard
// limits is refused (403 "exceeded quota: ..."), and an admitted one is charged to each quota's status.used at once,
// in the same compare-and-swap write as the check, so two apiservers (or two requests) never both take the last
// unit. The resourcequota controller sets status.hard and recounts status.used from scratch (deletions give units
// back there); until it has, a quota's status is unknown and creates it limits are refused, as in Kubernetes.
import { forbidden } from "../../api/errors.js";
import { addUsage, exceeded, mask, prettyUsage, quotaMatches, subtractUsage, toResourceList, toUsage, usageOf, type Usage } from "../../api/quota.js";
import type { Container, Pod, ResourceQuota } from "../../api/types/index.js";
import type { ResourceStore } from "../registry/store.js";
import type { AdmissionPlugin } from "./admission.js";

/** Pod quota names for which every container must say what it asks for (Kubernetes' backward-compatible rule). */
const MUST_SPECIFY = ["cpu", "limits.cpu", "limits.memory", "memory", "requests.cpu", "requests.memory"];

export function resourceQuotaPlugin(): AdmissionPlugin {
  return {
    name: "ResourceQuota",
    enabledByDefault: true,
    async validate(attributes) {
      const namespace = attributes.namespace;
      const quotas = attributes.storeFor("", "v1", "resourcequotas");
      if (!namespace || !quotas) return undefined;
      const { group, resource } = attributes.info;
      const listed = (await quotas.list(namespace, { resourceVersion: "0" })).items as ResourceQuota[];
      // Most namespaces have no quota: then there is nothing to work out the object's usage for.
      if (listed.length === 0) return undefined;
      const name = attributes.object.metadata.name ?? "";
      const delta = usageOf(group, resource, attributes.object);
      const charges: { quota: string; usage: Usage }[] = [];
      for (const quota of listed.sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""))) {
        if (!quotaMatches(quota, group, resource, attributes.object)) continue;
        const limited = Object.keys(quota.spec?.hard ?? {}).filter((n) => delta.has(n) || MUST_SPECIFY.includes(n));
        if (limited.length === 0) continue;
        const quotaName = quota.metadata.name ?? "";
        if (group === "" && resource === "pods") {
          const missing = missingRequests(attributes.object, limited);
          if (missing) throw forbidden(resource, name, `failed quota: ${quotaName}: must specify ${missing}`);
        }
        const requested = mask(delta, limited);
        if (requested.size > 0) charges.push({ quota: quotaName, usage: requested });
      }
      if (charges.length === 0) return undefined;
      const charged: { quota: string; usage: Usage }[] = [];
      const giveBack = async (): Promise<void> => {
        for (const charge of charged.reverse()) await uncharge(quotas, namespace, charge.quota, charge.usage);
      };
      try {
        for (const charge of charges) {
          await charge1(quotas, namespace, charge.quota, charge.usage, name, resource, attributes.dryRun);
          charged.push(charge);
        }
      } catch (err) {
        if (!attributes.dryRun) await giveBack();
        throw err;
      }
      return attributes.dryRun ? undefined : giveBack;
    },
  };
}

/** Checks and (unless a dry run) adds `requested` to the quota's status.used in one conditional write. */
async function charge1(quotas: ResourceStore, namespace: string, quotaName: string, requested: Usage, objectName: string, resource: string, dryRun: boolean): Promise<void> {
  const check = (quota: ResourceQuota): Usage => {
    const hard = toUsage(quota.status?.hard);
    const usedList = quota.status?.used ?? {};
    const unknown = [...requested.keys()].filter((n) => !hard.has(n) || usedList[n] === undefined).sort();
    if (unknown.length > 0) throw forbidden(resource, objectName, `status unknown for quota: ${quotaName}, resources: ${unknown.join(",")}`);
    const used = toUsage(usedList);
    const next = addUsage(used, requested);
    const over = exceeded(mask(next, requested.keys()), hard);
    if (over.length > 0) {
      throw forbidden(resource, objectName, `exceeded quota: ${quotaName}, requested: ${prettyUsage(mask(requested, over))}, used: ${prettyUsage(mask(used, over))}, limited: ${prettyUsage(mask(hard, over))}`);
    }
    return next;
  };
  if (dryRun) {
    check(await quotas.get(namespace, quotaName));
    return;
  }
  await quotas.mutate(namespace, quotaName, (object) => {
    const quota = object as ResourceQuota;
    const next = check(quota);
    quota.status = { ...quota.status, used: { ...quota.status?.used, ...toResourceList(mask(next, requested.keys())) } };
  });
}

/** Gives a charge back after the write it was for failed. */
async function uncharge(quotas: ResourceStore, namespace: string, quotaName: string, usage: Usage): Promise<void> {
  await quotas
    .mutate(namespace, quotaName, (object) => {
      const quota = object as ResourceQuota;
      const rest = subtractUsage(toUsage(quota.status?.used), usage);
      quota.status = { ...quota.status, used: { ...quota.status?.used, ...toResourceList(mask(rest, usage.keys())) } };
    })
    .catch(() => undefined); // a quota deleted meanwhile has nothing to give back; the controller recounts anyway
}

/** "limits.cpu for: a,b; requests.memory for: a" when containers leave out what a limited name needs. */
function missingRequests(pod: Pod, limited: readonly string[]): string | undefined {
  const parts: string[] = [];
  for (const name of MUST_SPECIFY.filter((n) => limited.includes(n))) {
    const isLimit = name.startsWith("limits.");
    const resource = name.replace(/^(requests|limits)\./, "");
    const lacking = ([] as Container[])
      .concat(pod.spec?.containers ?? [], pod.spec?.initContainers ?? [])
      .filter((c) => (isLimit ? c.resources?.limits : c.resources?.requests)?.[resource] === undefined)
      .map((c) => c.name)
      .sort();
    if (lacking.length > 0) parts.push(`${name} for: ${[...new Set(lacking)].join(",")}`);
  }
  return parts.length > 0 ? parts.join("; ") : undefined;
}
