// --authorization-mode=Node: what a kubelet (user system:node:<name> in group system:nodes) may do, as Kubernetes'
// Node authorizer decides it. Secrets, configmaps, persistent volume claims and volumes, and service-account tokens
// only for objects a pod bound to that node uses (NodeGraph); node leases and CSINodes only its own; everything
// else by the bootstrap system:node role's rules (whose ClusterRoleBinding has no subjects since Kubernetes 1.8, so
// RBAC alone gives a node nothing). Not a node: no opinion. Denials give no opinion with Kubernetes' reasons.
import type { PolicyRule, UserInfo } from "../../../api/types/index.js";
import { BOOTSTRAP_CLUSTER_ROLES } from "../../registry/rbac/bootstrap-policy.js";
import type { Registry } from "../../registry/registry.js";
import type { AuthorizationResult, Attributes, Authorizer, RulesResult } from "../authorizer.js";
import { followStore } from "../follow.js";
import { ruleAllows } from "../rbac/rules.js";
import { NodeGraph, type VertexType } from "./graph.js";

export const NODE_USER_PREFIX = "system:node:";
export const NODES_GROUP = "system:nodes";
const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** The node a user is, as Kubernetes' NodeIdentity: undefined for a non-node, "" for a node with no name. */
export function nodeIdentity(user: UserInfo): string | undefined {
  const name = user.username ?? "";
  if (!name.startsWith(NODE_USER_PREFIX) || !(user.groups ?? []).includes(NODES_GROUP)) return undefined;
  return name.slice(NODE_USER_PREFIX.length);
}

const NODE_RULES: readonly PolicyRule[] = BOOTSTRAP_CLUSTER_ROLES.find((r) => r.metadata.name === "system:node")?.rules ?? [];

const noOpinion = (reason: string): AuthorizationResult => ({ decision: "noOpinion", reason });
const ALLOW: AuthorizationResult = { decision: "allow", reason: "" };

export class NodeAuthorizer implements Authorizer {
  constructor(readonly graph: NodeGraph) {}

  authorize(attributes: Attributes): AuthorizationResult {
    const node = nodeIdentity(attributes.user);
    if (node === undefined) return noOpinion("");
    if (node === "") return noOpinion(`unknown node for user ${JSON.stringify(attributes.user.username ?? "")}`);
    if (attributes.resourceRequest) {
      const { apiGroup, resource } = attributes;
      if (apiGroup === "") {
        switch (resource) {
          case "secrets":
            return this.readNamespaced(node, "secret", attributes);
          case "configmaps":
            return this.readNamespaced(node, "configmap", attributes);
          case "persistentvolumeclaims":
            return attributes.subresource === "status" ? this.statusUpdate(node, attributes) : this.get(node, "persistentvolumeclaim", attributes);
          case "persistentvolumes":
            return this.get(node, "persistentvolume", attributes);
          case "serviceaccounts":
            return this.createToken(node, attributes);
        }
      }
      if (apiGroup === "coordination.k8s.io" && resource === "leases") return this.ownObject(node, attributes, "a node lease", "node lease");
      if (apiGroup === "storage.k8s.io" && resource === "csinodes") return this.ownObject(node, attributes, "a CSINode", "CSINode");
    }
    return NODE_RULES.some((rule) => ruleAllows(attributes, rule)) ? ALLOW : noOpinion("");
  }

  rulesFor(user: UserInfo): RulesResult {
    if (nodeIdentity(user) === undefined) return { resourceRules: [], nonResourceRules: [], incomplete: false };
    // A node's permissions depend on its pods: they cannot be listed as rules.
    return { resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: "node authorizer does not support user rule resolution" };
  }

  private readNamespaced(node: string, type: VertexType, a: Attributes): AuthorizationResult {
    if (!["get", "list", "watch"].includes(a.verb)) return noOpinion("can only read resources of this type");
    if (a.subresource !== "") return noOpinion("cannot read subresource");
    if (a.namespace === "") return noOpinion("can only read namespaced object of this type");
    return this.related(node, type, a);
  }

  private get(node: string, type: VertexType, a: Attributes): AuthorizationResult {
    if (a.verb !== "get") return noOpinion("can only get individual resources of this type");
    if (a.subresource !== "") return noOpinion("cannot get subresource");
    return this.related(node, type, a);
  }

  private statusUpdate(node: string, a: Attributes): AuthorizationResult {
    if (a.verb !== "update" && a.verb !== "patch") return noOpinion("can only get/update/patch this type");
    return this.related(node, "persistentvolumeclaim", a);
  }

  private createToken(node: string, a: Attributes): AuthorizationResult {
    if (a.verb !== "create" || a.name === "") return noOpinion("can only create tokens for individual service accounts");
    if (a.subresource !== "token") return noOpinion("can only create token subresource of serviceaccount");
    return this.graph.hasPath(node, "serviceaccount", a.namespace, a.name) ? ALLOW : noOpinion(`no relationship found between node '${node}' and this object`);
  }

  private related(node: string, type: VertexType, a: Attributes): AuthorizationResult {
    if (a.name === "") return noOpinion("No Object name found");
    return this.graph.hasPath(node, type, a.namespace, a.name) ? ALLOW : noOpinion(`no relationship found between node '${node}' and this object`);
  }

  /** Leases (in kube-node-lease) and CSINodes: only the node's own, by name; a create's name is NodeRestriction's to check. */
  private ownObject(node: string, a: Attributes, what: string, short: string): AuthorizationResult {
    if (!["get", "create", "update", "patch", "delete"].includes(a.verb)) return noOpinion(`can only get, create, update, patch, or delete ${what}`);
    if (short === "node lease" && a.namespace !== NODE_LEASE_NAMESPACE) return noOpinion(`can only access leases in the ${JSON.stringify(NODE_LEASE_NAMESPACE)} system namespace`);
    if (short === "CSINode" && a.subresource !== "") return noOpinion("cannot authorize CSINode subresources");
    if (a.verb !== "create" && a.name !== node) return noOpinion(`can only access ${short} with the same name as the requesting node`);
    return ALLOW;
  }
}

const followed = new WeakMap<Registry, NodeAuthorizer>();

/** The Node authorizer over `registry`'s pods and persistentvolumes caches; one per registry. */
export function nodeAuthorizerFor(registry: Registry): NodeAuthorizer {
  const known = followed.get(registry);
  if (known) return known;
  const graph = new NodeGraph();
  followStore(registry.core("pods"), { upsert: (o) => { graph.upsertPod(o); }, remove: (o) => { graph.removePod(o); }, reset: () => { graph.resetPods(); } });
  followStore(registry.core("persistentvolumes"), { upsert: (o) => { graph.upsertVolume(o); }, remove: (o) => { graph.removeVolume(o); }, reset: () => { graph.resetVolumes(); } });
  const authorizer = new NodeAuthorizer(graph);
  followed.set(registry, authorizer);
  return authorizer;
}
