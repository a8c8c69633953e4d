// Configuration objects pods refer to (ConfigMaps, Secrets, ServiceAccounts): plain objects with no server rules
// beyond validation.
import type { ResourceDefinition } from "../kind.js";
import { tokenSubresource } from "../serviceaccounts/token.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const CONFIG_RESOURCES: readonly ResourceDefinition[] = [
  { group: "", resource: "configmaps", strategy: () => PLAIN_STRATEGY },
  { group: "", resource: "secrets", strategy: () => PLAIN_STRATEGY },
  { group: "", resource: "serviceaccounts", strategy: () => PLAIN_STRATEGY, configuredSubresources: (config) => ({ token: tokenSubresource(config.serviceAccountTokens) }) },
];
