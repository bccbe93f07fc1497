/** The daemon start timeout: 5 s, or FRRSUP_DAEMON_START_TIMEOUT_MS (the VM test runs FRR under emulation). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultStartTimeoutMs } from '../../src/frr/daemon.ts';

test('5 s unless FRRSUP_DAEMON_START_TIMEOUT_MS is a positive whole number of ms', () => {
  assert.equal(defaultStartTimeoutMs({}), 5000);
  assert.equal(defaultStartTimeoutMs({ FRRSUP_DAEMON_START_TIMEOUT_MS: '60000' }), 60_000);
  for (const bad of ['', '0', '-1', '1.5', 'abc']) assert.equal(defaultStartTimeoutMs({ FRRSUP_DAEMON_START_TIMEOUT_MS: bad }), 5000, bad);
});
