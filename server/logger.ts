import pino, { type Logger } from 'pino';

/** Structured logs; credential-bearing fields are censored wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['*.authorization', '*.Authorization', '*["x-api-key"]', '*.apiKey', '*.secret', '*.privateKey', '*.password', '*.token', '*.signature', 'headers', 'req.headers'],
      censor: '[redacted]',
    },
  });
}
