// Jobs and CronJobs: status subresources and generations, and a Job's generated selector: unless the client
// manages the selector (spec.manualSelector), a new Job selects its pods by its own uid, and its pod template
// carries that uid and the Job's name as labels (the job strategy's generateSelector).
import type { KubeObject } from "../../../api/meta.js";
import type { Job } from "../../../api/types/index.js";
import type { ResourceDefinition } from "../kind.js";
import type { Strategy } from "../strategy.js";
import { PLAIN_STRATEGY } from "../strategy.js";

/** The label the generated selector of a Job matches, with the Job's uid. */
export const CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid";
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
/** The pre-1.27 spellings, still set on pod templates for compatibility. */
export const LEGACY_CONTROLLER_UID_LABEL = "controller-uid";
export const LEGACY_JOB_NAME_LABEL = "job-name";

const CONTROLLED_STRATEGY: Strategy = { ...PLAIN_STRATEGY, statusSubresource: true, tracksGeneration: true };

export const BATCH_RESOURCES: readonly ResourceDefinition[] = [
  { group: "batch", resource: "jobs", strategy: () => ({ ...CONTROLLED_STRATEGY, prepareForCreate: generateJobSelector }) },
  { group: "batch", resource: "cronjobs", strategy: () => CONTROLLED_STRATEGY },
];

/** Adds the uid selector and the template labels to a new Job; a user's wrong uid label is left for validation to refuse. */
export function generateJobSelector(object: KubeObject): void {
  const job = object as Job;
  const spec = job.spec;
  if (typeof spec !== "object" || spec === null || spec.manualSelector === true) return;
  const uid = job.metadata.uid ?? "";
  const name = job.metadata.name ?? "";
  const template = typeof spec.template === "object" && spec.template !== null ? spec.template : undefined;
  if (template) {
    template.metadata ??= {};
    const labels = { ...(template.metadata.labels ?? {}) };
    labels[CONTROLLER_UID_LABEL] ??= uid;
    labels[JOB_NAME_LABEL] ??= name;
    labels[LEGACY_CONTROLLER_UID_LABEL] ??= uid;
    labels[LEGACY_JOB_NAME_LABEL] ??= name;
    template.metadata.labels = labels;
  }
  spec.selector ??= {};
  spec.selector.matchLabels = { ...(spec.selector.matchLabels ?? {}) };
  spec.selector.matchLabels[CONTROLLER_UID_LABEL] ??= uid;
}
