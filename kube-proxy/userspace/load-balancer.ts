// The userspace proxier's endpoint choice (0.18's LoadBalancerRR): round-robin over a service port's endpoints,
// and with sessionAffinity ClientIP, a client IP goes back to the endpoint it last used while it keeps coming
// within the affinity timeout. Endpoints that stay across an update keep the rotation and their affine clients.

interface ServiceState {
  endpoints: string[];
  index: number;
  affinityTtlMs?: number;
  affinity: Map<string, { endpoint: string; lastUsed: number }>;
}

export class RoundRobinLoadBalancer {
  private readonly services = new Map<string, ServiceState>();

  /** Sets a service port's endpoints ("ip:port") and affinity (seconds, undefined for none). */
  update(servicePort: string, endpoints: readonly string[], affinitySeconds: number | undefined): void {
    const state: ServiceState = this.services.get(servicePort) ?? { endpoints: [], index: 0, affinity: new Map<string, { endpoint: string; lastUsed: number }>() };
    const same = state.endpoints.length === endpoints.length && state.endpoints.every((e, i) => e === endpoints[i]);
    if (!same) {
      state.endpoints = [...endpoints];
      state.index = 0;
      const alive = new Set(endpoints);
      for (const [client, a] of state.affinity) if (!alive.has(a.endpoint)) state.affinity.delete(client);
    }
    if (affinitySeconds === undefined) {
      delete state.affinityTtlMs;
      state.affinity.clear();
    } else {
      state.affinityTtlMs = affinitySeconds * 1000;
    }
    this.services.set(servicePort, state);
  }

  remove(servicePort: string): void {
    this.services.delete(servicePort);
  }

  /** The endpoint for a new connection from `clientIP`, or undefined when there is none. */
  next(servicePort: string, clientIP: string, now: number): string | undefined {
    const state = this.services.get(servicePort);
    if (!state || state.endpoints.length === 0) return undefined;
    if (state.affinityTtlMs !== undefined) {
      const a = state.affinity.get(clientIP);
      if (a && now - a.lastUsed < state.affinityTtlMs) {
        a.lastUsed = now;
        return a.endpoint;
      }
    }
    const endpoint = state.endpoints[state.index % state.endpoints.length]!;
    state.index = (state.index + 1) % state.endpoints.length;
    if (state.affinityTtlMs !== undefined) state.affinity.set(clientIP, { endpoint, lastUsed: now });
    return endpoint;
  }

  /** A connection to `endpoint` failed: forget it as `clientIP`'s affine endpoint so the next try moves on. */
  resetAffinity(servicePort: string, clientIP: string, endpoint: string): void {
    const a = this.services.get(servicePort)?.affinity.get(clientIP);
    if (a?.endpoint === endpoint) this.services.get(servicePort)?.affinity.delete(clientIP);
  }
}
