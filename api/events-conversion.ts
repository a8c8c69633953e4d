// Conversion between core/v1 Events (the stored form) and events.k8s.io/v1 Events (the same objects through the
// newer schema), field for field as Kubernetes' Convert_v1_Event_To_core_Event and its inverse.
//
// Renamed fields:  involvedObject ↔ regarding, message ↔ note, source ↔ deprecatedSource,
// firstTimestamp ↔ deprecatedFirstTimestamp, lastTimestamp ↔ deprecatedLastTimestamp, count ↔ deprecatedCount,
// reportingComponent ↔ reportingController. The rest (eventTime, series, action, reason, related, type,
// reportingInstance, metadata) is shared.
import type { KubeObject } from "./meta.js";
import type { CoreEvent, EventsV1Event } from "./types/index.js";

/** [core/v1 field, events.k8s.io/v1 field]; identical names are listed once on both sides. */
const FIELD_PAIRS: readonly (readonly [string, string])[] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
  ["reportingComponent", "reportingController"],
  ["reportingInstance", "reportingInstance"],
  ["eventTime", "eventTime"],
  ["series", "series"],
  ["action", "action"],
  ["reason", "reason"],
  ["related", "related"],
  ["type", "type"],
];

/** A stored core/v1 Event as events.k8s.io/v1 serves it. The input is not modified. */
export function toEventsV1(core: KubeObject): EventsV1Event {
  const src = structuredClone(core);
  const out: EventsV1Event = { apiVersion: "events.k8s.io/v1", kind: "Event", metadata: src.metadata };
  for (const [coreField, v1Field] of FIELD_PAIRS) copy(src, coreField, out, v1Field);
  return out;
}

/** An events.k8s.io/v1 Event in the stored core/v1 form. The input is not modified. */
export function toCoreEvent(v1: KubeObject): CoreEvent {
  const src = structuredClone(v1);
  // involvedObject is required in core/v1; an events.k8s.io Event without `regarding` refers to nothing.
  const out: CoreEvent = { apiVersion: "v1", kind: "Event", metadata: src.metadata, involvedObject: {} };
  for (const [coreField, v1Field] of FIELD_PAIRS) copy(src, v1Field, out, coreField);
  return out;
}

function copy(from: KubeObject, fromField: string, to: KubeObject, toField: string): void {
  const value = from[fromField];
  if (value !== undefined && value !== null) to[toField] = value;
}
