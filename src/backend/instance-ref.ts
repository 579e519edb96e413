/** The readable id of an instance, for logs and error texts (events carry the InstanceRef fields). */
import type { InstanceRef } from './types.js';

/** `<model>_<version>_<index>`, e.g. 'resnet_3_0'. */
export function instanceLabel(ref: InstanceRef): string {
  return `${ref.model}_${ref.version}_${ref.index}`;
}
