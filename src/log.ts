/**
 * Structured JSON logs on stdout (pino). One line per event an operator cares about; `event` names it.
 * The BGP password is never logged: nothing logs the spec itself, and `redact` is a second line of defence.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { name: 'frr-supervisor' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'spec.bgp.password', 'bgp.password'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
