import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface StaticFile {
  name: string;
  contentType: string;
  body: Buffer;
  etag: string;
}

/** The only kinds of file served; anything else in the folder stays private. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The files of one folder, read once and kept in memory, looked up by exact name. A request names a
 * key of this map, never a path, so `..`, encoded slashes or symlinks cannot reach outside the folder.
 */
export class StaticFiles {
  private loaded?: Promise<Map<string, StaticFile>>;

  constructor(
    private readonly dir: string,
    private readonly extensions: string[] = Object.keys(CONTENT_TYPES),
  ) {}

  async get(name: string): Promise<StaticFile | undefined> {
    return (await this.all()).get(name);
  }

  async names(): Promise<string[]> {
    return [...(await this.all()).keys()];
  }

  private all(): Promise<Map<string, StaticFile>> {
    this.loaded ??= this.load().catch((err) => {
      this.loaded = undefined; // a failed read is tried again on the next request
      throw err;
    });
    return this.loaded;
  }

  private async load(): Promise<Map<string, StaticFile>> {
    const files = new Map<string, StaticFile>();
    for (const entry of await fs.readdir(this.dir, { withFileTypes: true })) {
      const ext = path.extname(entry.name);
      const contentType = CONTENT_TYPES[ext];
      if (!entry.isFile() || !contentType || !this.extensions.includes(ext)) continue;
      const body = await fs.readFile(path.join(this.dir, entry.name));
      const etag = `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      files.set(entry.name, { name: entry.name, contentType, body, etag });
    }
    return files;
  }
}
