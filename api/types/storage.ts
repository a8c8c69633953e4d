// storage.k8s.io/v1 object types: StorageClass, CSIDriver, CSINode, CSIStorageCapacity, VolumeAttachment.
import type { KubeObject, LabelSelector } from "../meta.js";
import type { Quantity } from "./core.js";

export interface StorageClass extends KubeObject {
  provisioner?: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: "Delete" | "Retain" | "Recycle";
  mountOptions?: string[];
  allowVolumeExpansion?: boolean;
  volumeBindingMode?: "Immediate" | "WaitForFirstConsumer";
  allowedTopologies?: { matchLabelExpressions?: { key: string; values: string[] }[] }[];
}

export interface CSIDriver extends KubeObject {
  spec?: {
    attachRequired?: boolean;
    podInfoOnMount?: boolean;
    volumeLifecycleModes?: ("Persistent" | "Ephemeral")[];
    storageCapacity?: boolean;
    fsGroupPolicy?: "ReadWriteOnceWithFSType" | "File" | "None";
    tokenRequests?: { audience: string; expirationSeconds?: number }[];
    requiresRepublish?: boolean;
    seLinuxMount?: boolean;
  };
}

export interface CSINodeDriver {
  name: string;
  nodeID: string;
  topologyKeys?: string[];
  allocatable?: { count?: number };
}

export interface CSINode extends KubeObject {
  spec?: { drivers?: CSINodeDriver[] };
}

export interface CSIStorageCapacity extends KubeObject {
  nodeTopology?: LabelSelector;
  storageClassName?: string;
  capacity?: Quantity;
  maximumVolumeSize?: Quantity;
}

export interface VolumeAttachment extends KubeObject {
  spec?: {
    attacher?: string;
    nodeName?: string;
    source?: { persistentVolumeName?: string; inlineVolumeSpec?: Record<string, unknown> };
  };
  status?: { attached?: boolean; attachmentMetadata?: Record<string, string>; attachError?: { time?: string; message?: string }; detachError?: { time?: string; message?: string } };
}
