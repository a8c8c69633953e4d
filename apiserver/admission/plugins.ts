// Every admission plugin kubelab has, in the order they run (Kubernetes' order: LimitRanger and ServiceAccount
// mutate first, ResourceQuota validates last so that it charges only what every other plugin let through).
import { selectPlugins, type AdmissionChain, type AdmissionPlugin } from "./admission.js";
import { defaultStorageClassPlugin } from "./defaultstorageclass.js";
import { limitRangerPlugin } from "./limitranger.js";
import { nodeRestrictionPlugin } from "./noderestriction.js";
import { resourceQuotaPlugin } from "./resourcequota.js";
import { serviceAccountPlugin } from "./serviceaccount.js";

export function allPlugins(): AdmissionPlugin[] {
  return [nodeRestrictionPlugin(), limitRangerPlugin(), serviceAccountPlugin(), defaultStorageClassPlugin(), resourceQuotaPlugin()];
}

/** The chain for --enable-admission-plugins / --disable-admission-plugins. */
export function admissionChainFor(enable: string, disable: string): AdmissionChain {
  return selectPlugins(allPlugins(), enable, disable);
}
