// JSON logs (pino). Secrets must never be logged in the first place; the
// redaction below is the safety net for fields that carry them by name.
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

const SECRET_FIELDS = [
  'token',
  'password',
  'secret',
  'secretAccessKey',
  'SecretAccessKey',
  'sessionToken',
  'SessionToken',
  'authorization',
  'Authorization',
  'privateToken',
  'value',
];

const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  '*.headers["private-token"]',
  '*.headers["PRIVATE-TOKEN"]',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component: 'gitlab-aws-operator' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    destination,
  );
}
