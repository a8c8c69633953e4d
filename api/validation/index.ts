// Validation: the rules of k8s.io/kubernetes pkg/apis/*/validation, run by the registry after defaulting on every
// create (validateObject) and update (validateUpdate). Each FieldError's `field` and `message` are what Kubernetes
// puts in a 422's details.causes, so kubectl prints the same `* spec.containers[0].image: Required value` lines.
//
// Input is an unvalidated client body that passed only JSON parsing: every accessor tolerates missing or wrongly
// typed fields without throwing. This file dispatches by kind; each kind's rules live in the file named after it.
import type { FieldError } from "../errors.js";
import type { KubeObject } from "../meta.js";
import type { ResourceInfo } from "../resources.js";
import { toCoreEvent } from "../events-conversion.js";
import type { ConfigMap, CoreEvent, EndpointSlice, Pod, Secret } from "../types/index.js";
import { validateCertificateSigningRequest, validateCertificateSigningRequestUpdate } from "./certificates.js";
import { validateLimitRange, validatePersistentVolume, validatePersistentVolumeClaim, validatePersistentVolumeClaimUpdate, validatePodTemplate, validateResourceQuota } from "./core-claims.js";
import { validateRole, validateRoleBinding, validateRoleBindingUpdate } from "./rbac.js";
import { validateConfigMap, validateImmutableData, validateSecret } from "./config.js";
import { validateEndpointSlice, validateEndpoints } from "./endpoints.js";
import { validateCoreEvent } from "./events.js";
import { goLabelSelector, immutable, raw } from "./field-errors.js";
import { validateGroupKind, validateGroupKindUpdate } from "./group-kinds.js";
import { deepEqual, specOf } from "./helpers.js";
import { validateAPIService } from "./apiservice.js";
import { validateLease } from "./lease.js";
import { validateNamespace, validateNode, validateNodeUpdate } from "./node-namespace.js";
import { nameRuleFor, validateObjectMeta, validateObjectMetaUpdate } from "./object-meta.js";
import { validatePodSpec } from "./pod-spec.js";
import { validatePodUpdate } from "./pod-update.js";
import { validateService, validateServiceUpdate } from "./service.js";
import { validateDaemonSet, validateDeployment, validateReplicaSet, validateReplicationController, validateStatefulSet, validateStatefulSetUpdate } from "./workloads.js";

/** Validates a whole object as Kubernetes does on create. An empty list means valid. */
export function validateObject(info: ResourceInfo, obj: KubeObject): FieldError[] {
  const kind = `${info.group}/${info.kind}`;
  // Core events skip the object-metadata rules (legacyValidateEvent); everything else starts with them.
  const errs: FieldError[] = kind === "/Event" ? [] : validateObjectMeta(obj.metadata, info.namespaced, nameRuleFor(info), "metadata");
  switch (kind) {
    case "/Pod":
      errs.push(...validatePodSpec((obj as Pod).spec, "spec"));
      break;
    case "/Service":
      errs.push(...validateService(obj));
      break;
    case "/Endpoints":
      errs.push(...validateEndpoints(obj));
      break;
    case "/Node":
      errs.push(...validateNode(obj));
      break;
    case "/Namespace":
      errs.push(...validateNamespace(obj));
      break;
    case "/Event":
      errs.push(...validateCoreEvent(obj as CoreEvent, false));
      break;
    case "events.k8s.io/Event":
      errs.push(...validateCoreEvent(toCoreEvent(obj), true));
      break;
    case "/ConfigMap":
      errs.push(...validateConfigMap(obj));
      break;
    case "/Secret":
      errs.push(...validateSecret(obj));
      break;
    case "/ReplicationController":
      errs.push(...validateReplicationController(obj));
      break;
    case "apps/Deployment":
      errs.push(...validateDeployment(obj));
      break;
    case "apps/ReplicaSet":
      errs.push(...validateReplicaSet(obj));
      break;
    case "apps/DaemonSet":
      errs.push(...validateDaemonSet(obj));
      break;
    case "apps/StatefulSet":
      errs.push(...validateStatefulSet(obj));
      break;
    case "coordination.k8s.io/Lease":
      errs.push(...validateLease(obj));
      break;
    case "apiregistration.k8s.io/APIService":
      errs.push(...validateAPIService(obj));
      break;
    case "discovery.k8s.io/EndpointSlice":
      errs.push(...validateEndpointSlice(obj as EndpointSlice));
      break;
    case "/PersistentVolume":
      errs.push(...validatePersistentVolume(obj));
      break;
    case "/PersistentVolumeClaim":
      errs.push(...validatePersistentVolumeClaim(obj));
      break;
    case "/ResourceQuota":
      errs.push(...validateResourceQuota(obj));
      break;
    case "/LimitRange":
      errs.push(...validateLimitRange(obj));
      break;
    case "/PodTemplate":
      errs.push(...validatePodTemplate(obj));
      break;
    case "rbac.authorization.k8s.io/Role":
    case "rbac.authorization.k8s.io/ClusterRole":
      errs.push(...validateRole(obj, info.namespaced));
      break;
    case "rbac.authorization.k8s.io/RoleBinding":
    case "rbac.authorization.k8s.io/ClusterRoleBinding":
      errs.push(...validateRoleBinding(obj, info.namespaced));
      break;
    case "certificates.k8s.io/CertificateSigningRequest":
      errs.push(...validateCertificateSigningRequest(obj));
      break;
    default:
      // ServiceAccount: metadata only.
      errs.push(...validateGroupKind(kind, obj));
      break;
  }
  return errs;
}

/**
 * Validates a status-subresource write: `next` is the stored object with the client's status (and, for built-in
 * kinds, its labels and annotations). A pod whose spec is the stored one gets Kubernetes' ValidatePodStatusUpdate
 * rules as far as kubelab checks them: its metadata, as an update's, and not its spec again, which the write cannot
 * change. Anything else (another kind; a pod whose spec differs from the stored one, defaults having filled a
 * stored spec that lacked them) is validated as an update.
 */
export function validateStatusUpdate(info: ResourceInfo, next: KubeObject, prev: KubeObject): FieldError[] {
  if (info.group !== "" || info.kind !== "Pod" || !deepEqual(next.spec, prev.spec)) return validateUpdate(info, next, prev);
  return [...validateObjectMetaUpdate(next.metadata, prev.metadata, "metadata"), ...validateObjectMeta(next.metadata, info.namespaced, nameRuleFor(info), "metadata")];
}

/**
 * Validates an update: the create rules on `next`, plus metadata and kind-specific immutability against `prev`.
 * `next` is the object about to be stored (defaulted, with server-set fields such as the service's cluster IP
 * carried over where the client left them out).
 */
export function validateUpdate(info: ResourceInfo, next: KubeObject, prev: KubeObject): FieldError[] {
  const errs = validateObjectMetaUpdate(next.metadata, prev.metadata, "metadata");
  switch (`${info.group}/${info.kind}`) {
    case "/Pod":
      errs.push(...validatePodUpdate(next, prev));
      break;
    case "/Service":
      errs.push(...validateServiceUpdate(next, prev));
      break;
    case "/Node":
      errs.push(...validateNodeUpdate(next, prev));
      break;
    case "/ConfigMap":
      errs.push(...validateImmutableData(next as ConfigMap, prev as ConfigMap, ["data", "binaryData"]));
      break;
    case "/Secret":
      errs.push(...validateImmutableData(next as Secret, prev as Secret, ["data"]));
      if ((next as Secret).type !== (prev as Secret).type) errs.push(immutable("type", (next as Secret).type));
      break;
    case "apps/Deployment":
    case "apps/ReplicaSet":
    case "apps/DaemonSet": {
      const sel = specOf(next).selector;
      if (!deepEqual(sel, specOf(prev).selector)) errs.push(immutable("spec.selector", raw(goLabelSelector(sel))));
      break;
    }
    case "apps/StatefulSet":
      errs.push(...validateStatefulSetUpdate(next, prev));
      break;
    case "/PersistentVolumeClaim":
      errs.push(...validatePersistentVolumeClaimUpdate(next, prev));
      break;
    case "rbac.authorization.k8s.io/RoleBinding":
    case "rbac.authorization.k8s.io/ClusterRoleBinding":
      errs.push(...validateRoleBindingUpdate(next, prev));
      break;
    case "certificates.k8s.io/CertificateSigningRequest":
      errs.push(...validateCertificateSigningRequestUpdate(next, prev));
      break;
    case "discovery.k8s.io/EndpointSlice":
      if ((next as EndpointSlice).addressType !== (prev as EndpointSlice).addressType) {
        errs.push(immutable("addressType", (next as EndpointSlice).addressType));
      }
      break;
    default:
      errs.push(...validateGroupKindUpdate(`${info.group}/${info.kind}`, next, prev));
      break;
  }
  errs.push(...validateObject(info, next));
  return errs;
}
