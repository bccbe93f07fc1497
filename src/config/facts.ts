/** Facts about the host the config may default from: the Pod IP and the external interface's address. */
import { execa } from 'execa';
import { childEnv } from '../child-env.ts';

export interface HostFacts {
  env: NodeJS.ProcessEnv;
  /** The first global IPv4 address of an interface, or undefined (missing interface or no address). */
  interfaceIPv4(ifname: string): Promise<string | undefined>;
}

interface IpAddrJson {
  addr_info?: Array<{ family?: string; local?: string; scope?: string }>;
}

export async function interfaceIPv4(ifname: string): Promise<string | undefined> {
  const res = await execa('ip', ['-json', '-4', 'addr', 'show', 'dev', ifname], {
    reject: false,
    timeout: 3000,
    stdin: 'ignore',
    extendEnv: false,
    env: childEnv(),
  });
  if (res.exitCode !== 0 || !res.stdout.trim()) return undefined;
  try {
    const links = JSON.parse(res.stdout) as IpAddrJson[];
    for (const link of links) {
      for (const a of link.addr_info ?? []) if (a.family === 'inet' && a.scope === 'global' && a.local) return a.local;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export const hostFacts = (env: NodeJS.ProcessEnv = process.env): HostFacts => ({ env, interfaceIPv4 });
