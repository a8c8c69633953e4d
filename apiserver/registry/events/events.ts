// Events: core/v1 events expire after --event-ttl and may be created by a PUT (the recorders' upsert); the
// events.k8s.io/v1 API serves the same stored events through the newer schema.
import { toCoreEvent, toEventsV1 } from "../../../api/events-conversion.js";
import { isKubeObject } from "../../../api/meta.js";
import type { ResourceDefinition } from "../kind.js";
import type { Strategy } from "../strategy.js";
import { PLAIN_STRATEGY } from "../strategy.js";

function eventStrategy(ttlSeconds: number): Strategy {
  return { ...PLAIN_STRATEGY, allowCreateOnUpdate: true, ttlSeconds };
}

export const EVENT_RESOURCES: readonly ResourceDefinition[] = [
  {
    group: "",
    resource: "events",
    strategy: (config) => eventStrategy(config.eventTtlSeconds),
  },
  {
    group: "events.k8s.io",
    resource: "events",
    strategy: (config) => eventStrategy(config.eventTtlSeconds),
    view: {
      storedAs: { group: "", version: "v1", resource: "events" },
      toApi: (stored) => toEventsV1(stored),
      fromApi: (body) => (isKubeObject(body) ? toCoreEvent(body) : body),
    },
  },
];
