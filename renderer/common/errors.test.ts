import { describe, expect, it } from 'vitest';
import { friendlyError } from './errors.js';

describe('friendlyError', () => {
  it('turns known low-level errors into sentences that say what to do', () => {
    const refused = friendlyError(new Error('connect ECONNREFUSED 127.0.0.1:11434'), 'start the run');
    expect(refused.message).toBe('Could not start the run. The model service is not answering. Start it on the Services screen.');
    expect(refused.detail).toBe('connect ECONNREFUSED 127.0.0.1:11434');
    expect(friendlyError(new Error('listen EADDRINUSE: address already in use :::8001')).message).toMatch(/port is taken/);
    expect(friendlyError(new Error('the server refused this page (wrong or missing token)')).message).toMatch(/not allowed/);
  });

  it('names invalid requests as app bugs', () => {
    const error = Object.assign(new Error('lanes.0.workers: Too small'), { code: 'invalid-request' });
    expect(friendlyError(error).message).toMatch(/bug in the app/);
  });

  it('keeps unknown messages readable instead of hiding them', () => {
    expect(friendlyError(new Error('the model refused the image'), 'load it').message).toBe('Could not load it. the model refused the image.');
    expect(friendlyError('').message).toBe('Something went wrong.');
  });

  it('shows why an import kept no ad, not an instruction to import a list', () => {
    const raw = 'No ads found in all-bad.csv (line 2: not a valid URL: nope; line 3: no image URL).';
    expect(friendlyError(new Error(raw), 'import the ads').message).toBe(`Could not import the ads. ${raw}`);
  });
});
