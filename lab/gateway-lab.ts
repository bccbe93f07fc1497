/**
 * The e2e files' common setup, registered with node:test's before/after of the describe that calls it: one lab, the
 * gateway's advertised prefix routed in the gateway namespace (FRR's network import-check, as the VPC route is in the
 * Pod), one external router, and at most one supervisor at a time (starting one cleans the previous one up).
 * Everything is cleaned up after the describe, even when a test failed.
 */
import { after, before } from 'node:test';
import { createLab } from './lab.ts';
import type { Lab, RouterInstance } from './lab.ts';
import { startSupervisor } from './supervisor-process.ts';
import type { StartSupervisorOptions, SupervisorProcess } from './supervisor-process.ts';

export interface GatewayLab {
  readonly lab: Lab;
  readonly router: RouterInstance;
  /** The supervisor started last (undefined before the first start). */
  sup: SupervisorProcess | undefined;
  /** Cleans the previous supervisor up, then starts one in the lab's gateway namespace. */
  start(opts: StartSupervisorOptions): Promise<SupervisorProcess>;
}

export function useGatewayLab(o: { advertised: string; routerConf: string }): GatewayLab {
  let lab: Lab | undefined;
  let router: RouterInstance | undefined;
  const fx: GatewayLab = {
    get lab(): Lab {
      if (!lab) throw new Error('the lab is set up in before()');
      return lab;
    },
    get router(): RouterInstance {
      if (!router) throw new Error('the router is started in before()');
      return router;
    },
    sup: undefined,
    async start(opts) {
      await fx.sup?.cleanup();
      fx.sup = startSupervisor(fx.lab, opts);
      return fx.sup;
    },
  };
  before(async () => {
    lab = await createLab();
    await lab.exec(lab.gwNs, ['ip', 'route', 'add', 'blackhole', o.advertised]);
    router = await lab.startRouter(o.routerConf);
  });
  after(async () => {
    await fx.sup?.cleanup();
    await lab?.cleanup();
  });
  return fx;
}
