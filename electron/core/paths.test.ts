import { describe, expect, it } from 'vitest';
import { dataPaths, defaultDataDir } from './paths.js';

describe('defaultDataDir', () => {
  it('prefers PARALLEL_VISION_DATA_DIR', () => {
    expect(defaultDataDir({ platform: 'darwin', env: { PARALLEL_VISION_DATA_DIR: '/data/pv' }, home: '/Users/a' })).toBe('/data/pv');
  });
  it('uses Application Support on macOS', () => {
    expect(defaultDataDir({ platform: 'darwin', env: {}, home: '/Users/a' })).toBe('/Users/a/Library/Application Support/Parallel Vision');
  });
  it('uses XDG_DATA_HOME, else ~/.local/share elsewhere', () => {
    expect(defaultDataDir({ platform: 'linux', env: { XDG_DATA_HOME: '/x' }, home: '/home/a' })).toBe('/x/parallel-vision');
    expect(defaultDataDir({ platform: 'linux', env: {}, home: '/home/a' })).toBe('/home/a/.local/share/parallel-vision');
  });
  it('puts the database and the cache inside the data folder', () => {
    expect(dataPaths('/d')).toEqual({ database: '/d/parallel-vision.db', imageCache: '/d/cache/images' });
  });
});
