/**
 * An error's message as it may be logged, stored in the outbox or carried in a journal event: the
 * short form where a library gives one (ethers puts the whole request, RPC URL included, in `message`),
 * with every URL replaced (a hosted RPC or Alpaca URL can carry a key), and bounded.
 */
export function safeErrorMessage(err: unknown): string {
  const e = err as { shortMessage?: unknown; message?: unknown };
  const raw = typeof e?.shortMessage === 'string' ? e.shortMessage : typeof e?.message === 'string' ? e.message : String(err);
  return raw.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '<url>').slice(0, 300);
}

/** The same error, its message made safe in place (its class, and so `instanceof`, is kept). */
export function sanitized<E extends Error>(err: E): E {
  try {
    err.message = safeErrorMessage(err);
  } catch {
    // a frozen error keeps its message; callers still bound what they store
  }
  return err;
}

/** For a log line: the safe message and the stack frames (without the message line the stack repeats). */
export function loggableError(err: unknown): { message: string; stack?: string } {
  const stack = (err as Error)?.stack?.split('\n').slice(1, 8).join('\n');
  return { message: safeErrorMessage(err), ...(stack ? { stack } : {}) };
}
