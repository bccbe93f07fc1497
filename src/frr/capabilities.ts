// The Linux capabilities FRR's daemons need, checked before anything starts: without one of them every daemon
// exits at start ("privs_init: initial cap_set_proc failed: Operation not permitted", then "Wanted caps:
// cap_net_bind_service,cap_net_admin,cap_net_raw,cap_sys_admin=p"), and a supervisor that only retried would
// never say why. FRR 8.4.4, 10.3 and 10.7.1 ask for the same set (seen with each: the lab, the VM test, the image test).
import { readFile } from 'node:fs/promises';

/** FRR's privilege set, with the capability numbers of linux/capability.h. */
export const FRR_CAPABILITIES = { NET_BIND_SERVICE: 10, NET_ADMIN: 12, NET_RAW: 13, SYS_ADMIN: 21 } as const;
export type FrrCapability = keyof typeof FRR_CAPABILITIES;

/** The effective capability mask from /proc/PID/status text (`CapEff:\t00000000a80425fb`). */
export function effectiveCaps(statusText: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** The FRR capabilities missing from a mask. */
export function missingFrrCaps(mask: bigint): FrrCapability[] {
  return (Object.keys(FRR_CAPABILITIES) as FrrCapability[]).filter((c) => (mask & (1n << BigInt(FRR_CAPABILITIES[c]))) === 0n);
}

/**
 * Throws a clear error when this process lacks a capability FRR's daemons need (they inherit from it). Does
 * nothing where /proc/self/status cannot be read.
 */
export async function checkFrrCapabilities(statusFile = '/proc/self/status'): Promise<void> {
  let text: string;
  try {
    text = await readFile(statusFile, 'utf8');
  } catch {
    return;
  }
  const mask = effectiveCaps(text);
  if (mask === undefined) return;
  const missing = missingFrrCaps(mask);
  if (missing.length === 0) return;
  throw new Error(
    `missing capabilit${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}: FRR's daemons need ${Object.keys(FRR_CAPABILITIES).join(', ')} ` +
      '(without them each exits at start with "privs_init: initial cap_set_proc failed"); add them to the container\'s ' +
      'securityContext.capabilities (see deploy/reference-gateway.yaml), or run as root with them',
  );
}
