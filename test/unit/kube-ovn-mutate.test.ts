/**
 * The gateway Pod mutation (src/kube-ovn/mutate.ts), on the Pod exactly as Kube-OVN 1.16 creates it
 * (test/fixtures/kube-ovn-gateway-pod.ts, transcribed from the controller at commit 1533681d7): BGP-only and EVPN,
 * with and without VPC BFD. No Kubernetes API server can be installed on this machine: the mutated Pod is checked
 * against the Kubernetes API schema (strict), the patch is applied the way the API server applies a JSONPatch, and
 * test/image/kube-ovn-pod.test.ts runs the mutated Pod's frr container for real.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SHUTDOWN_LIMIT_MS } from '../../src/cli/run-cmd.ts';
import {
  CAPABILITIES,
  DRAIN_WORST_CASE_MS,
  GRACE_SECONDS,
  mutatePod,
  podPatch,
  PROBE_LIVE,
  PROBE_READY,
  skipReason,
  SUPERVISED_ANNOTATION,
  SUPERVISOR_COMMAND,
} from '../../src/kube-ovn/mutate.ts';
import type { Container, Pod } from '../../src/kube-ovn/mutate.ts';
import { CONFIG_DIR, CONFIG_VOLUME, configMapName, HTTP_PORT, secretName } from '../../src/kube-ovn/names.ts';
import { SHUTDOWN_BUDGET } from '../../src/supervisor/supervisor.ts';
import { kubeOvnGatewayPod } from '../fixtures/kube-ovn-gateway-pod.ts';
import { execForm, parseDockerfile } from '../helpers/dockerfile.ts';
import { applyPatch } from '../helpers/json-patch.ts';
import { validateManifest } from '../helpers/k8s-schemas.ts';

const IMAGE = 'ghcr.io/example/frr-supervisor:0.1.0';
const OPTS = { image: IMAGE };

const VARIANTS = [
  { what: 'BGP-only', opts: {} },
  { what: 'BGP-only with a password', opts: { password: true } },
  { what: 'EVPN', opts: { evpn: true } },
  { what: 'BGP-only with VPC BFD', opts: { bfd: true } },
  { what: 'EVPN with VPC BFD and a password', opts: { evpn: true, bfd: true, password: true } },
];

const byName = (list: Container[] | undefined, name: string): Container => {
  const c = list?.find((x) => x.name === name);
  assert.ok(c, `container ${name}`);
  return c;
};

describe('the mutation of a Kube-OVN 1.16 gateway Pod', () => {
  for (const { what, opts } of VARIANTS) {
    describe(what, () => {
      const pod = kubeOvnGatewayPod(opts);
      const frozen = structuredClone(pod);
      const out = mutatePod(pod, OPTS);

      it('leaves the input untouched and the Pod valid against the Kubernetes API schema (strict)', () => {
        assert.deepEqual(pod, frozen);
        assert.deepEqual(validateManifest(pod).errors, [], 'the fixture itself is a valid Pod');
        assert.deepEqual(validateManifest(out).errors, []);
      });

      it('the frr container (name kept) runs frr-supervisor from the configured image', () => {
        const frr = byName(out.spec?.containers, 'frr');
        assert.equal(frr.image, IMAGE);
        assert.deepEqual(frr.command, SUPERVISOR_COMMAND);
        assert.deepEqual(frr.args, ['--config-dir', CONFIG_DIR]);
        assert.deepEqual(frr.env, [{ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }]);
        assert.ok(frr.ports?.some((p) => p.containerPort === HTTP_PORT && p.name === 'http-metrics'));
        assert.deepEqual(frr.volumeMounts, [{ name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true }]);
        assert.ok(frr.resources?.requests?.cpu && frr.resources.limits?.memory, 'requests and limits');
        const caps = (frr.securityContext?.capabilities ?? {}) as { add?: string[]; drop?: string[] };
        assert.deepEqual(caps.drop, ['ALL']);
        assert.deepEqual(caps.add, CAPABILITIES);
        for (const c of ['NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE', 'SYS_ADMIN'])
          assert.ok(caps.add?.includes(c), `${c}: what Kube-OVN's frr container has`);
        assert.equal(frr.securityContext?.privileged, false);
      });

      it('probes by exec (kubelet cannot reach Pod IPs in custom VPCs): startup and liveness live, readiness ready', () => {
        const frr = byName(out.spec?.containers, 'frr');
        assert.deepEqual(frr.startupProbe?.exec?.command, PROBE_LIVE);
        assert.deepEqual(frr.livenessProbe?.exec?.command, PROBE_LIVE);
        assert.deepEqual(frr.readinessProbe?.exec?.command, PROBE_READY);
        for (const p of [frr.startupProbe, frr.livenessProbe, frr.readinessProbe]) {
          assert.equal(p?.httpGet, undefined);
          assert.ok((p?.timeoutSeconds ?? 1) >= 5, 'an exec probe starts Node.js: a 1 s default timeout is too short on a busy node');
        }
        assert.ok((frr.startupProbe?.periodSeconds ?? 0) * (frr.startupProbe?.failureThreshold ?? 0) >= 60, '60 s to start');
      });

      it("frr-config becomes a no-op that cannot fail (no env: the password is gone); Kube-OVN's init is kept as is", () => {
        const noop = byName(out.spec?.initContainers, 'frr-config');
        assert.deepEqual(noop.command, ['true']);
        assert.equal(noop.args, undefined);
        assert.equal(noop.env, undefined);
        assert.equal(noop.image, IMAGE, 'the image the Pod pulls anyway');
        assert.equal(noop.volumeMounts, undefined);
        assert.deepEqual(byName(out.spec?.initContainers, 'init'), byName(pod.spec?.initContainers, 'init'));
        assert.deepEqual(
          out.spec?.initContainers?.map((c) => c.name),
          ['init', 'frr-config'],
        );
        assert.ok(!JSON.stringify(out).includes('BGP_PASSWORD'), 'no BGP_PASSWORD left in the Pod');
      });

      it('the other containers, labels and volumes are kept; the config volume is the companion objects', () => {
        const others = (p: Pod) => p.spec?.containers?.filter((c) => c.name !== 'frr');
        assert.deepEqual(others(out), others(pod));
        assert.deepEqual(out.metadata?.labels, pod.metadata?.labels);
        const names = out.spec?.volumes?.map((v) => v.name) ?? [];
        for (const v of pod.spec?.volumes ?? []) assert.ok(names.includes(v.name), `volume ${v.name} kept`);
        assert.deepEqual(
          out.spec?.volumes?.find((v) => v.name === CONFIG_VOLUME),
          {
            name: CONFIG_VOLUME,
            projected: {
              sources: [{ configMap: { name: configMapName('gateway1') } }, { secret: { name: secretName('gateway1'), optional: true } }],
            },
          },
        );
        assert.equal(out.metadata?.annotations?.[SUPERVISED_ANNOTATION], IMAGE);
        for (const [k, v] of Object.entries(pod.metadata?.annotations ?? {})) assert.equal(out.metadata?.annotations?.[k], v);
      });

      it('the grace period fits the drain (raised from Kube-OVN 0, never lowered)', () => {
        const grace = out.spec?.terminationGracePeriodSeconds ?? 0;
        assert.equal(pod.spec?.terminationGracePeriodSeconds, opts.bfd ? 30 : 0);
        assert.ok(grace >= (pod.spec?.terminationGracePeriodSeconds ?? 0));
        assert.ok(grace * 1000 > DRAIN_WORST_CASE_MS, `${grace} s over the drain's worst case ${DRAIN_WORST_CASE_MS} ms`);
        assert.ok(grace * 1000 > SHUTDOWN_LIMIT_MS, `${grace} s over run's hard shutdown limit`);
        assert.equal(grace, GRACE_SECONDS);
      });

      it('the JSONPatch turns the Pod into the mutation; mutating again changes nothing (idempotent)', () => {
        const patch = podPatch(pod, out);
        assert.ok(patch.length > 0);
        assert.deepEqual(applyPatch(pod, patch), out);
        assert.deepEqual(mutatePod(out, OPTS), out);
        assert.deepEqual(podPatch(out, mutatePod(out, OPTS)), []);
      });
    });
  }

  it('the grace period is computed from the supervisor budget (6 + 4 + 3 + 5 x 2 = 23 s -> 30 s)', () => {
    assert.equal(DRAIN_WORST_CASE_MS, SHUTDOWN_BUDGET.applyMs + SHUTDOWN_BUDGET.sessionWaitMs + 3000 + 5 * SHUTDOWN_BUDGET.stopEachMs);
    assert.equal(GRACE_SECONDS, 30);
  });

  it("the supervisor command is the image's entrypoint (Dockerfile)", () => {
    const df = parseDockerfile(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'));
    const entry = df.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
    assert.deepEqual(execForm(entry?.args ?? ''), SUPERVISOR_COMMAND);
  });

  it('a new image or resources in the options change the mutated Pod again (no stale supervisor left behind)', () => {
    const out = mutatePod(kubeOvnGatewayPod(), OPTS);
    const again = mutatePod(out, { image: 'registry.local/frr-supervisor:0.2.0', resources: { requests: { cpu: '50m' } } });
    const frr = byName(again.spec?.containers, 'frr');
    assert.equal(frr.image, 'registry.local/frr-supervisor:0.2.0');
    assert.deepEqual(frr.resources, { requests: { cpu: '50m' } });
    assert.deepEqual(applyPatch(out, podPatch(out, again)), again);
  });

  it('a Pod that is not a gateway, or a gateway without BGP, is left alone', () => {
    const plain = kubeOvnGatewayPod();
    plain.metadata = { ...plain.metadata, labels: { app: 'web' } };
    assert.match(skipReason(plain) ?? '', /not a VPC egress gateway Pod/);
    assert.equal(mutatePod(plain, OPTS), plain);
    const onlyApp = kubeOvnGatewayPod();
    onlyApp.metadata = { ...onlyApp.metadata, labels: { app: 'vpc-egress-gateway' } };
    assert.match(skipReason(onlyApp) ?? '', /not a VPC egress gateway Pod/);
    const noBgp = kubeOvnGatewayPod();
    noBgp.spec!.containers = noBgp.spec!.containers!.filter((c) => c.name !== 'frr');
    noBgp.spec!.initContainers = noBgp.spec!.initContainers!.filter((c) => c.name !== 'frr-config');
    assert.match(skipReason(noBgp) ?? '', /no frr container/);
    assert.equal(mutatePod(noBgp, OPTS), noBgp);
    assert.deepEqual(podPatch(noBgp, mutatePod(noBgp, OPTS)), []);
  });

  it('annotation keys with a slash are escaped in the patch path (JSON Pointer)', () => {
    const pod = kubeOvnGatewayPod();
    const patch = podPatch(pod, mutatePod(pod, OPTS));
    assert.ok(patch.some((op) => op.path === `/metadata/annotations/${SUPERVISED_ANNOTATION.replace('/', '~1')}`));
  });
});
