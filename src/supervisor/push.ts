/**
 * The config push after a daemon (re)starts: its part of frr.conf, through vtysh. bgpd first gets a boot variant with
 * every neighbour administratively down, and the neighbours are enabled once everything is in: a peer connecting
 * while vtysh still feeds lines would get an OPEN without the address families (activated further down) and, after
 * a graceful restart, drop the stale routes ("address family not preserved").
 */
import { join } from 'node:path';
import type { Spec } from '../config/types.ts';
import type { DaemonName } from '../frr/daemon.ts';
import type { FrrPaths } from '../frr/paths.ts';
import type { Vtysh } from '../frr/vtysh.ts';
import { enableNeighboursCommands, renderBgpdBootConf } from '../render/frr-conf.ts';
import type { RenderOptions } from '../render/frr-conf.ts';
import { writeFileAtomic } from './atomic-write.ts';

const PUSH_TIMEOUT_MS = 10_000;

export async function pushDaemonConfig(
  name: DaemonName,
  spec: Spec | undefined,
  o: { paths: FrrPaths; vtysh: Vtysh; render?: RenderOptions },
): Promise<void> {
  if (name !== 'bgpd' || !spec) return o.vtysh.pushConfig({ daemon: name, timeoutMs: PUSH_TIMEOUT_MS });
  const boot = join(o.paths.instanceConfigDir, 'bgpd-boot.conf');
  await writeFileAtomic(boot, renderBgpdBootConf(spec, o.render), 0o600);
  await o.vtysh.pushConfig({ daemon: 'bgpd', file: boot, timeoutMs: PUSH_TIMEOUT_MS });
  await o.vtysh.run(enableNeighboursCommands(spec), { daemon: 'bgpd', timeoutMs: PUSH_TIMEOUT_MS });
}
