/**
 * The whole environment of every child process (FRR daemons, vtysh, ip, bridge, mount, nsenter, unshare): nothing
 * of the supervisor's own, which may hold secrets (Kube-OVN sets BGP_PASSWORD on the container). Every execa call
 * passes `extendEnv: false, env: childEnv()`; a static test checks it.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', ...extra };
}
