import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs with lead ids but no personal data: any field that can carry an email address,
 * a name or a secret is redacted wherever it appears, so a careless `log.info({ event })`
 * cannot leak it.
 */
const REDACT = [
  'email',
  '*.email',
  '*.*.email',
  'emailAddress',
  '*.emailAddress',
  'name',
  '*.firstName',
  '*.lastName',
  '*.phone',
  '*.ip',
  '*.ipAddress',
  '*.password',
  '*.sasl',
  '*.*.password',
  'password',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
