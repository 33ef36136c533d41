/**
 * `flows.tags` holds a state's tags as `|a|b|` (sorted), so one tag is matched with
 * `tags LIKE '%|a|%'` on SQLite and PostgreSQL alike.
 */
export const encodeTags = (tags: Iterable<string>): string => {
  const list = [...tags].sort();
  return list.length ? `|${list.join('|')}|` : '';
};

export const decodeTags = (column: unknown): string[] => (typeof column === 'string' && column ? column.split('|').filter(Boolean) : []);

/** The LIKE pattern that finds rows carrying `tag`. */
export const tagPattern = (tag: string): string => `%|${tag}|%`;
