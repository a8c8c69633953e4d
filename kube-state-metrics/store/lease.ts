// kube_lease_* families (kube-state-metrics' lease store): node heartbeats in kube-node-lease and the components'
// leader-election locks.
import type { Lease } from "../../api/types/index.js";
import type { FamilyGenerator, Labels } from "../exposition.js";
import { family, sample, unixSeconds } from "./common.js";

const base = (l: Readonly<Lease>): Labels => [["lease", l.metadata.name ?? ""]];

export function leaseFamilies(): FamilyGenerator<Lease>[] {
  return [
    family<Lease>("kube_lease_owner", "Information about the Lease's owner.", "gauge", base, (l) => {
      const refs = l.metadata.ownerReferences ?? [];
      const holder = l.spec?.holderIdentity ?? "";
      const namespace = l.metadata.namespace ?? "";
      if (refs.length === 0) return [sample(1, ["owner_kind", ""], ["owner_name", ""], ["namespace", namespace], ["lease_holder", holder])];
      return refs.map((r) => sample(1, ["owner_kind", r.kind], ["owner_name", r.name], ["namespace", namespace], ["lease_holder", holder]));
    }),
    family<Lease>("kube_lease_renew_time", "Kube lease renew time.", "gauge", base, (l) => {
      const renewed = unixSeconds(l.spec?.renewTime);
      return renewed === undefined ? [] : [sample(renewed, ["namespace", l.metadata.namespace ?? ""])];
    }),
  ];
}
