/** True when a write lost to a unique key (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  if (e?.code === '23505') return true; // PostgreSQL unique_violation
  if (e?.code === 'SQLITE_CONSTRAINT' || e?.errno === 19) return /UNIQUE|PRIMARY KEY/i.test(e.message ?? '');
  return false;
}

/** Another connection holds the write lock (SQLite) or a serialization failure (PostgreSQL): try again. */
export function isWriteContention(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'SQLITE_BUSY' || e?.code === '40001' || e?.code === '40P01' || /SQLITE_BUSY/.test(e?.message ?? '');
}
