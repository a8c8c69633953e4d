// events.k8s.io/v1 Event: the newer schema over the same stored events as core/v1 (see api/events-conversion.ts).
import type { KubeObject } from "../meta.js";
import type { EventSource, ObjectReference } from "./core.js";

export interface EventSeries {
  count: number;
  /** MicroTime. */
  lastObservedTime: string;
}

export interface EventsV1Event extends KubeObject {
  /** MicroTime; required by events.k8s.io/v1. */
  eventTime?: string;
  series?: EventSeries;
  reportingController?: string;
  reportingInstance?: string;
  action?: string;
  reason?: string;
  regarding?: ObjectReference;
  related?: ObjectReference;
  note?: string;
  type?: string;
  deprecatedSource?: EventSource;
  deprecatedFirstTimestamp?: string;
  deprecatedLastTimestamp?: string;
  deprecatedCount?: number;
}
