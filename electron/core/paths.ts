/**
 * Where the app keeps its database, image cache and logs. Shared by the CLI and
 * Electron main so both open the same data folder.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface DataDirEnv {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/** `PARALLEL_VISION_DATA_DIR`, else the OS convention for per-user application data. */
export function defaultDataDir({ platform = process.platform, env = process.env, home = homedir() }: DataDirEnv = {}): string {
  const override = env.PARALLEL_VISION_DATA_DIR?.trim();
  if (override) return override;
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Parallel Vision');
  if (platform === 'win32') return join(env.APPDATA?.trim() || join(home, 'AppData', 'Roaming'), 'Parallel Vision');
  const xdg = env.XDG_DATA_HOME?.trim();
  return join(xdg || join(home, '.local', 'share'), 'parallel-vision');
}

/** The files inside a data folder. */
export function dataPaths(dataDir: string): { database: string; imageCache: string } {
  return { database: join(dataDir, 'parallel-vision.db'), imageCache: join(dataDir, 'cache', 'images') };
}

/**
 * The first `<dir>/<relative>` that exists, from `startDir` up to the file-system root:
 * finds the project's folders the same way from the sources and from a bundle in dist/.
 */
export function findUpwards(startDir: string, relative: string): string | null {
  for (let dir = startDir; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}
