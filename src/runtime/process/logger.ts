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

const LEVEL_METHODS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => {};

/**
 * `parent.child(bindings)`, made the first time something is logged through
 * it. Every reconcile gets a child with its key, and most of them log nothing
 * at the default level; pino's child() puts each binding through the redaction,
 * which was about 3 % of the operator's CPU in a cold start (npm run bench).
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = () => {
    child ??= parent.child(bindings);
    return child;
  };
  return new Proxy(parent, {
    get(_target, prop) {
      if (!child && typeof prop === 'string' && LEVEL_METHODS.has(prop) && !parent.isLevelEnabled(prop))
        return noop;
      const c = real();
      const value = Reflect.get(c, prop, c);
      return typeof value === 'function' ? value.bind(c) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(real(), prop, value);
    },
  });
}
