// HorizontalPodAutoscalers: stored as autoscaling/v2, served as v1 too by conversion (api/hpa-conversion.ts).
import { fromAutoscalingV1, toAutoscalingV1 } from "../../../api/hpa-conversion.js";
import type { ResourceDefinition } from "../kind.js";
import type { Strategy } from "../strategy.js";
import { PLAIN_STRATEGY } from "../strategy.js";

const HPA_STRATEGY: Strategy = { ...PLAIN_STRATEGY, statusSubresource: true };

export const AUTOSCALING_RESOURCES: readonly ResourceDefinition[] = [
  { group: "autoscaling", resource: "horizontalpodautoscalers", version: "v2", strategy: () => HPA_STRATEGY },
  {
    group: "autoscaling",
    resource: "horizontalpodautoscalers",
    version: "v1",
    strategy: () => HPA_STRATEGY,
    view: {
      storedAs: { group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers" },
      toApi: (stored) => toAutoscalingV1(stored),
      fromApi: (body) => fromAutoscalingV1(body),
    },
  },
];
