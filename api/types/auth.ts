// authentication.k8s.io/v1 and authorization.k8s.io/v1: the review kinds, created and answered but never stored,
// and the TokenRequest of serviceaccounts/token.
import type { KubeObject } from "../meta.js";

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface BoundObjectReference {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

export interface TokenRequest extends KubeObject {
  // boundObjectRef is null in the server's reply when the request bound the token to nothing (Kubernetes' pointer
  // field has no omitempty).
  spec?: { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: BoundObjectReference | null };
  status?: { token?: string; expirationTimestamp?: string };
}

export interface TokenReview extends KubeObject {
  spec?: { token?: string; audiences?: string[] };
  status?: { authenticated?: boolean; user?: UserInfo; audiences?: string[]; error?: string };
}

export interface SelfSubjectReview extends KubeObject {
  status?: { userInfo?: UserInfo };
}

export interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

export interface NonResourceAttributes {
  path?: string;
  verb?: string;
}

export interface SubjectAccessReviewSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: NonResourceAttributes;
  user?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  uid?: string;
}

export interface SubjectAccessReviewStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

/** SubjectAccessReview, SelfSubjectAccessReview and LocalSubjectAccessReview share this shape. */
export interface SubjectAccessReview extends KubeObject {
  spec?: SubjectAccessReviewSpec;
  status?: SubjectAccessReviewStatus;
}

export interface SelfSubjectRulesReview extends KubeObject {
  spec?: { namespace?: string };
  status?: {
    resourceRules?: { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }[];
    nonResourceRules?: { verbs: string[]; nonResourceURLs?: string[] }[];
    incomplete?: boolean;
    evaluationError?: string;
  };
}
