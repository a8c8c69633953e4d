// CONTRACT (placeholder until the volumes work lands): the pod's volumes on the node's disk under
// <root-dir>/pods/<uid>/, and the mounts each container gets (its volumeMounts plus /etc/hosts).
import type * as cri from "../../client/cri/types.js";
import type { ConfigMap, Container, Pod, Secret } from "../../api/types/index.js";
import type { Logger } from "../../component-base/logging.js";

export interface VolumeSources {
  getConfigMap(namespace: string, name: string): Promise<Readonly<ConfigMap> | undefined>;
  getSecret(namespace: string, name: string): Promise<Readonly<Secret> | undefined>;
}

export interface VolumeManagerOptions {
  /** --root-dir */
  rootDir: string;
  sources: VolumeSources;
  logger: Logger;
  nodeName: string;
}

/** A volume that cannot be set up yet (missing ConfigMap/Secret not optional): the pod waits, event FailedMount. */
export class VolumeSetupError extends Error {
  override name = "VolumeSetupError";
}

export class VolumeManager {
  constructor(readonly options: VolumeManagerOptions) {}

  /**
   * Makes every volume of the pod ready (idempotent; refreshes configMap/secret/downwardAPI contents in place when
   * they changed) and writes the pod's /etc/hosts. Throws VolumeSetupError.
   */
  setUpPod(_pod: Readonly<Pod>, _hostsFile: string): Promise<void> {
    return Promise.resolve();
  }

  /** The CRI mounts for one container: its volumeMounts and /etc/hosts (unless the pod uses the host network). */
  mountsFor(_pod: Readonly<Pod>, _container: Readonly<Container>): cri.Mount[] {
    return [];
  }

  /** Removes everything the pod had on disk (after its containers are gone). */
  tearDownPod(_podUid: string): Promise<void> {
    return Promise.resolve();
  }
}
