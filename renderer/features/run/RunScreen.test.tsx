import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../app/App.js';
import { DEFAULT_FAKE_SERVICES, FakeVisionApi } from '../../test/fake-api.js';
import type { LaneProgress, RunProgress } from '../../../shared/domain.js';
import { useRun } from './state.js';
import { renderWithApi } from '../../test/render.js';

let api: FakeVisionApi | null = null;
afterEach(() => api?.dispose());

const CSV = ['creative_id,image_url', ...Array.from({ length: 40 }, (_, i) => `c${i + 1},https://ads.example/${i + 1}.png`), 'bad-row,ftp://nope', ''].join('\n');

function dropCsv(zone: HTMLElement, text = CSV, name = 'ads.csv') {
  const file = new File([text], name, { type: 'text/csv' });
  fireEvent.drop(zone, { dataTransfer: { files: [file], getData: () => '', types: ['Files'] } });
}

function progressOf(label: string): number {
  return Number(screen.getByRole('progressbar', { name: label }).getAttribute('aria-valuenow'));
}

describe('Run screen', () => {
  it('imports a dropped CSV and shows the preview and the rejected row', async () => {
    ({ api } = renderWithApi(<App />));
    expect(screen.getByRole('heading', { name: 'Parallel Vision' })).toBeTruthy();
    dropCsv(screen.getByTestId('drop-zone'));
    const preview = await screen.findByRole('region', { name: 'Imported ads' });
    expect(within(preview).getByTestId('accepted-count').textContent).toBe('40');
    const rejected = within(preview).getByRole('list', { name: 'Rejected rows' });
    expect(rejected.textContent).toContain('line 42');
    expect(rejected.textContent).toContain('not an http(s) URL');
    expect(api.calls.find((c) => c.channel === 'ads.importText')?.request).toMatchObject({ filename: 'ads.csv' });
  });

  it('with three lanes in a fixed split, each weight slider announces the share of the ads it shows', async () => {
    ({ api } = renderWithApi(<App />, {
      engines: [
        { engine: 'embedded', label: 'Embedded OCR', delayMs: 5, workers: 1, isDefault: true },
        { engine: 'ollama', label: 'Slow fake', delayMs: 5, workers: 1 },
        { engine: 'deepseek', label: 'Third fake', delayMs: 5, workers: 1 },
      ],
      // Its service set up, or the DeepSeek lane could not run.
      services: DEFAULT_FAKE_SERVICES.map((service) => (service.name === 'deepseek' ? { ...service, state: { type: 'ready', url: 'http://127.0.0.1:8001' } } : service)),
    }));
    expect(screen.getByTestId('drop-zone').textContent).toContain('paste with Ctrl+V');
    fireEvent.click(await screen.findByRole('checkbox', { name: 'Slow fake' }));
    fireEvent.click(screen.getByRole('checkbox', { name: 'Third fake' }));
    dropCsv(screen.getByTestId('drop-zone'));
    await screen.findByRole('region', { name: 'Imported ads' });
    fireEvent.click(screen.getByLabelText('Fixed split'));
    const sliders = ['Embedded OCR', 'Slow fake', 'Third fake'].map((name) => screen.getByRole('slider', { name: `Split weight for ${name}` }));
    expect(sliders.map((slider) => slider.getAttribute('aria-valuetext'))).toEqual(['33 % of the ads', '33 % of the ads', '33 % of the ads']);
    fireEvent.change(sliders[0]!, { target: { value: '100' } });
    await waitFor(() => expect(sliders[0]!.getAttribute('aria-valuetext')).toBe('50 % of the ads'));
  });

  it('a Resume pressed while the pause is still being answered is not lost', async () => {
    ({ api } = renderWithApi(<App />, {
      engines: [{ engine: 'embedded', label: 'Embedded OCR', delayMs: 40, workers: 1, isDefault: true }],
      tickMs: 20,
    }));
    dropCsv(screen.getByTestId('drop-zone'));
    await screen.findByRole('region', { name: 'Imported ads' });
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(screen.getByTestId('run-status').getAttribute('data-status')).toBe('running'));
    // The backend pauses at once and says so in a progress event, but its reply to the pause is slow.
    const release = api!.holdReplies('runs.pause');
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(screen.getByTestId('run-status').getAttribute('data-status')).toBe('paused'));
    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    release();
    await waitFor(() => expect(api?.calls.map((c) => c.channel).filter((c) => c === 'runs.pause' || c === 'runs.resume')).toEqual(['runs.pause', 'runs.resume']));
    await waitFor(() => expect(screen.getByTestId('run-status').getAttribute('data-status')).toBe('running'));
  });

  it('runs two lanes, honours the split in ratio policy, and cancels', async () => {
    ({ api } = renderWithApi(<App />, {
      engines: [
        { engine: 'embedded', label: 'Embedded OCR', delayMs: 5, workers: 2, isDefault: true },
        { engine: 'ollama', label: 'Slow fake', delayMs: 60, workers: 1 },
      ],
      tickMs: 30,
    }));
    // Only the default engine starts switched on.
    const slow = await screen.findByRole('checkbox', { name: 'Slow fake' });
    expect((slow as HTMLInputElement).checked).toBe(false);
    expect((screen.getByRole('checkbox', { name: 'Embedded OCR' }) as HTMLInputElement).checked).toBe(true);
    fireEvent.click(slow);
    dropCsv(screen.getByTestId('drop-zone'), ['creative_id,image_url', ...Array.from({ length: 400 }, (_, i) => `c${i},https://ads.example/${i}.png`)].join('\n'));
    await screen.findByRole('region', { name: 'Imported ads' });

    // Before the run, the slider edits the configuration sent with runs.start.
    fireEvent.click(screen.getByLabelText('Fixed split'));
    const slider = screen.getByRole('slider', { name: 'Split' });
    fireEvent.change(slider, { target: { value: '80' } });
    expect(screen.getByTestId('split-first').textContent).toBe('80 %');
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(api?.calls.some((c) => c.channel === 'runs.start')).toBe(true));
    expect(api.calls.find((c) => c.channel === 'runs.start')?.request).toMatchObject({ policy: 'ratio', split: { embedded: 0.8, ollama: 0.2 } });

    // Both lanes move.
    await waitFor(() => {
      expect(progressOf('Embedded OCR progress')).toBeGreaterThan(0);
      expect(progressOf('Slow fake progress')).toBeGreaterThan(0);
    });
    const firstOverall = progressOf('Overall progress');
    await waitFor(() => expect(progressOf('Overall progress')).toBeGreaterThan(firstOverall));

    // During the run the slider talks to the scheduler.
    fireEvent.change(screen.getByRole('slider', { name: 'Split' }), { target: { value: '30' } });
    await waitFor(() => expect(api?.calls.filter((c) => c.channel === 'runs.setSplit').at(-1)?.request).toEqual({ runId: expect.any(String), split: { embedded: 0.3, ollama: 0.7 } }));

    // Pause and resume change the controls.
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    await screen.findByRole('button', { name: 'Resume' });
    expect(screen.getByTestId('run-eta').textContent).toContain('paused');
    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await screen.findByRole('button', { name: 'Pause' });

    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.getByTestId('run-status').getAttribute('data-status')).toBe('cancelled'), { timeout: 3000 });
    expect(screen.getByRole('button', { name: 'Start again' })).toBeTruthy();
    const lanes = screen.getByRole('region', { name: 'Engine lanes' });
    expect(within(lanes).getAllByTestId('lane-share').every((el) => el.textContent?.endsWith('%'))).toBe(true);
  });

  it('shows a lane that took part in the last run once, also after it is switched off', async () => {
    ({ api } = renderWithApi(<App />, { engines: [{ engine: 'embedded', label: 'Embedded OCR', delayMs: 1, workers: 2, isDefault: true }, { engine: 'ollama', label: 'Slow fake', delayMs: 1, workers: 1 }], tickMs: 20 }));
    dropCsv(screen.getByTestId('drop-zone'), ['creative_id,image_url', 'a,https://ads.example/a.png', 'b,https://ads.example/b.png', ''].join('\n'));
    await screen.findByRole('region', { name: 'Imported ads' });
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(screen.getByTestId('run-status').getAttribute('data-status')).toBe('finished'), { timeout: 5000 });
    fireEvent.click(screen.getByRole('checkbox', { name: 'Embedded OCR' }));
    expect(screen.getAllByRole('checkbox', { name: 'Embedded OCR' })).toHaveLength(1);
    expect(screen.getAllByRole('checkbox', { name: 'Slow fake' })).toHaveLength(1);
  });

  it('shows a clear sentence when the backend cannot list the engines', async () => {
    ({ api } = renderWithApi(<App />, { failures: { 'engines.list': 'connect ECONNREFUSED 127.0.0.1:8001' } }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Could not list the engines. The model service is not answering.');
  });

  it('explains a drop with nothing to import', async () => {
    ({ api } = renderWithApi(<App />));
    await act(async () => {
      fireEvent.drop(screen.getByTestId('drop-zone'), { dataTransfer: { files: [new File(['%PDF'], 'doc.pdf', { type: 'application/pdf' })], getData: () => '' } });
    });
    expect((await screen.findByRole('alert')).textContent).toMatch(/Nothing to import/);
    expect(screen.getByText(/Skipped 1 file/)).toBeTruthy();
  });

  it('imports pasted URLs through importUrls', async () => {
    ({ api } = renderWithApi(<App />));
    fireEvent.click(screen.getByRole('button', { name: 'Paste a list…' }));
    fireEvent.change(screen.getByLabelText(/Image URLs/), { target: { value: 'https://a.example/1.png\nhttps://a.example/2.png' } });
    fireEvent.click(screen.getByRole('button', { name: 'Import' }));
    await screen.findByRole('region', { name: 'Imported ads' });
    expect(api.calls.find((c) => c.channel === 'ads.importUrls')?.request).toEqual({ urls: ['https://a.example/1.png', 'https://a.example/2.png'] });
  });

  it('after an import the keyboard focus is on the imported list, not lost to the page', async () => {
    ({ api } = renderWithApi(<App />));
    // Paste: the form (and its focused Import button) closes once the list is in.
    fireEvent.click(screen.getByRole('button', { name: 'Paste a list…' }));
    fireEvent.change(screen.getByLabelText(/Image URLs/), { target: { value: 'https://a.example/1.png\nhttps://a.example/2.png' } });
    screen.getByRole('button', { name: 'Import' }).focus();
    fireEvent.click(screen.getByRole('button', { name: 'Import' }));
    const preview = await screen.findByRole('region', { name: 'Imported ads' });
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Import' })).toBeNull());
    expect(document.activeElement).toBe(preview);

    // Pick: the focus was on Choose files… (disabled while the list is read).
    screen.getByRole('button', { name: 'Choose files…' }).focus();
    const file = new File(['creative_id,image_url\na,https://ads.example/a.png\n'], 'second.csv', { type: 'text/csv' });
    fireEvent.change(screen.getByLabelText('Ad list or image files'), { target: { files: [file] } });
    await waitFor(() => expect(screen.getByRole('region', { name: 'Imported ads' }).textContent).toContain('second.csv'));
    expect(document.activeElement).toBe(screen.getByRole('region', { name: 'Imported ads' }));

    // A drop while the user is elsewhere on the screen does not pull the focus away.
    const workers = screen.getByLabelText('Workers for Embedded OCR');
    workers.focus();
    dropCsv(screen.getByTestId('drop-zone'), undefined, 'third.csv');
    await waitFor(() => expect(screen.getByRole('region', { name: 'Imported ads' }).textContent).toContain('third.csv'));
    expect(document.activeElement).toBe(workers);
  });

  it('imports dropped image files as base64', async () => {
    ({ api } = renderWithApi(<App />));
    const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])], 'banner.png', { type: 'image/png' });
    fireEvent.drop(screen.getByTestId('drop-zone'), { dataTransfer: { files: [png], getData: () => '' } });
    await screen.findByRole('region', { name: 'Imported ads' });
    const request = api.calls.find((c) => c.channel === 'ads.importImages')?.request as { images: { name: string; base64: string }[] };
    expect(request.images).toEqual([{ name: 'banner.png', base64: btoa(String.fromCharCode(0x89, 0x50, 0x4e, 0x47, 1, 2, 3)) }]);
  });

  it('asks for the address of an OpenAI-compatible endpoint and adds more endpoints as lanes', async () => {
    ({ api } = renderWithApi(<App />, {
      engines: [
        { engine: 'embedded', label: 'Embedded OCR', delayMs: 5, isDefault: true },
        { engine: 'openai', label: 'OpenAI-compatible', delayMs: 5 },
      ],
    }));
    dropCsv(await screen.findByTestId('drop-zone'));
    await screen.findByRole('region', { name: 'Imported ads' });
    fireEvent.click(await screen.findByRole('checkbox', { name: 'OpenAI-compatible' }));
    expect(screen.getByText('OpenAI-compatible needs the address of its server.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    expect((await screen.findByRole('alert')).textContent).toContain('needs the address of its server');
    expect(api.calls.some((c) => c.channel === 'runs.start')).toBe(false);

    fireEvent.change(screen.getByLabelText('API key'), { target: { value: 'sk-test' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save key' }));
    expect(await screen.findByText('Key saved, encrypted by the system.')).toBeTruthy();
    expect(api.calls.find((c) => c.channel === 'secrets.set')?.request).toEqual({ laneId: 'openai', apiKey: 'sk-test' });
    expect((screen.getByLabelText('API key') as HTMLInputElement).value).toBe('');
    const card = (id: string) => within(document.querySelector<HTMLElement>(`[data-lane="${id}"]`)!);
    fireEvent.change(screen.getByLabelText('Endpoint'), { target: { value: 'http://127.0.0.1:8000/v1' } });
    fireEvent.change(card('openai').getByLabelText('Model'), { target: { value: 'deepseek-ocr' } });
    fireEvent.change(card('embedded').getByLabelText('Model'), { target: { value: 'fast' } });
    fireEvent.click(screen.getByRole('button', { name: '+ Add an OpenAI-compatible endpoint' }));
    expect(screen.getByRole('checkbox', { name: 'OpenAI-compatible 2' })).toBeTruthy();
    // Added switched on; switched off again, so this run sends two lanes.
    fireEvent.click(screen.getByRole('checkbox', { name: 'OpenAI-compatible 2' }));
    // Another screen and back: the Run screen reloads the engines and keeps every edit and the added lane.
    fireEvent.click(screen.getByRole('tab', { name: 'Services' }));
    fireEvent.click(await screen.findByRole('tab', { name: 'Run' }));
    expect(((await screen.findByRole('checkbox', { name: 'OpenAI-compatible 2' })) as HTMLInputElement).checked).toBe(false);
    await waitFor(() => expect(api?.calls.filter((c) => c.channel === 'engines.list').length).toBeGreaterThan(1));
    expect((card('openai').getByLabelText('Endpoint') as HTMLInputElement).value).toBe('http://127.0.0.1:8000/v1');
    expect((card('embedded').getByLabelText('Model') as HTMLSelectElement).value).toBe('fast');
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(api?.calls.some((c) => c.channel === 'runs.start')).toBe(true));
    expect((api.calls.find((c) => c.channel === 'runs.start')?.request as { lanes: unknown[] }).lanes).toEqual([
      { id: 'embedded', engine: 'embedded', label: 'Embedded OCR', workers: 1, autoWorkers: true, enabled: true, settings: { model: 'fast' } },
      { id: 'openai', engine: 'openai', label: 'OpenAI-compatible', workers: 1, autoWorkers: true, enabled: true, endpoint: 'http://127.0.0.1:8000/v1', model: 'deepseek-ocr' },
    ]);
  });

  it("says when a lane's service is not running", async () => {
    ({ api } = renderWithApi(<App />));
    fireEvent.click(await screen.findByRole('checkbox', { name: 'Ollama (llava)' }));
    const lane = document.querySelector<HTMLElement>('[data-lane="ollama"]')!;
    await waitFor(() => expect(within(lane).getByTestId('lane-status').textContent).toBe('Ollama (llava): stopped — start it on the Services screen'));
    expect(within(document.querySelector<HTMLElement>('[data-lane="embedded"]')!).getByTestId('lane-status').textContent).toBe('Ready');
  });

  it('a lane whose service is not installed says it cannot run and why, and gets no target and no ads', async () => {
    ({ api } = renderWithApi(<App />, {
      engines: [
        { engine: 'embedded', label: 'Embedded OCR', delayMs: 5, workers: 1, isDefault: true },
        { engine: 'ollama', label: 'Ollama', delayMs: 5, workers: 1 },
      ],
      services: [{ name: 'ollama', label: 'Ollama', engine: 'ollama', state: { type: 'not-installed', hint: 'install it from https://ollama.com/download' }, port: 11434, rssMb: null, managed: true, changedAt: 1 }],
    }));
    const lane = () => within(document.querySelector<HTMLElement>('[data-lane="ollama"]')!);
    await waitFor(() => expect(lane().getByTestId('lane-status').textContent).toBe('Cannot run — not installed: install it from https://ollama.com/download.'));
    expect((lane().getByRole('checkbox') as HTMLInputElement).disabled).toBe(true);
    // Switched on before (saved settings, another window): still nothing it will not get.
    act(() => useRun.getState().updateLane('ollama', { enabled: true }));
    expect((lane().getByRole('checkbox') as HTMLInputElement).checked).toBe(false);
    dropCsv(screen.getByTestId('drop-zone'));
    await screen.findByRole('region', { name: 'Imported ads' });
    fireEvent.click(screen.getByLabelText('Fixed split'));
    expect(lane().queryByText('Target')).toBeNull();
    expect(within(document.querySelector<HTMLElement>('[data-lane="embedded"]')!).getByText('Target').parentElement?.textContent).toContain('100');
    expect(screen.queryByRole('slider', { name: 'Split' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(api?.calls.some((c) => c.channel === 'runs.start')).toBe(true));
    const request = api!.calls.find((c) => c.channel === 'runs.start')?.request as { lanes: { id: string }[]; split: Record<string, number> };
    expect(request.lanes.map((l) => l.id)).toEqual(['embedded']);
    expect(request.split).toEqual({ embedded: 1 });
  });

  it('says exactly how many failed ads their image failed, which no lane counts', async () => {
    ({ api } = renderWithApi(<App />));
    await screen.findByRole('checkbox', { name: 'Embedded OCR' });
    const lane: LaneProgress = { laneId: 'embedded', engine: 'embedded', label: 'Embedded OCR', state: { type: 'idle' }, workers: 1, concurrency: 1, done: 9, failed: 0, inFlight: 0, share: 1, adsPerMinute: 60, p50_s: 1, p95_s: 1, estimate_s: 1 };
    const finished: RunProgress = { runId: 'run-x', status: 'finished', policy: 'auto', total: 10, done: 9, failed: 1, imageFailed: 1, inFlight: 0, elapsed_s: 10, eta_s: null, lanes: [lane], notes: [] };
    act(() => useRun.getState().attachRun('run-x', finished));
    expect(screen.getByTestId('run-counts').textContent).toContain('1 failed');
    expect(within(document.querySelector<HTMLElement>('[data-lane="embedded"]')!).getByText('Failed').parentElement?.textContent).toContain('0');
    expect(screen.getByTestId('run-image-failed').textContent).toBe('1 failed ad: its image could not be fetched (e.g. a dead link), which no lane counts as a failed call.');

    // Engine errors too (retried calls among them): the backend's count, not a guess from the lanes' figures.
    act(() => useRun.getState().applyProgress({ ...finished, done: 6, failed: 4, imageFailed: 2, lanes: [{ ...lane, done: 6, failed: 5 }] }));
    expect(screen.getByTestId('run-image-failed').textContent).toBe('2 failed ads: their images could not be fetched (e.g. dead links), which no lane counts as a failed call.');
    act(() => useRun.getState().applyProgress({ ...finished, imageFailed: 0, lanes: [{ ...lane, failed: 1 }] }));
    expect(screen.queryByTestId('run-image-failed')).toBeNull();
    // A backend older than the count: nothing is guessed.
    const { imageFailed: _unknown, ...older } = finished;
    act(() => useRun.getState().applyProgress(older));
    expect(screen.queryByTestId('run-image-failed')).toBeNull();
  });

  it('re-attaches to a run that is already going, with lanes this window never configured', async () => {
    const fake = new FakeVisionApi({ engines: [{ engine: 'embedded', label: 'Embedded OCR', delayMs: 50, workers: 1, isDefault: true }], tickMs: 30 });
    const batch = fake.addBatch(Array.from({ length: 200 }, (_, i) => ({ creativeId: `r${i}`, imageUrl: `https://x.example/${i}.png` })));
    await fake.invoke('runs.start', { batchId: batch.batchId, lanes: [{ id: 'embedded-2', engine: 'embedded', label: 'Second embedded', workers: 1 }] });
    ({ api } = renderWithApi(<App />, fake));
    await waitFor(() => expect(screen.getByTestId('run-status').getAttribute('data-status')).toBe('running'));
    const lane = document.querySelector<HTMLElement>('[data-lane="embedded-2"]');
    expect(lane?.textContent).toContain('Second embedded');
    await waitFor(() => expect(Number(within(lane!).getByTestId('lane-done').textContent)).toBeGreaterThan(0));
  });

  it('re-attaches to a fixed-split run with its policy, its split and its lanes, though this window has the second lane off', async () => {
    const fake = new FakeVisionApi({ engines: [{ engine: 'embedded', label: 'Embedded OCR', delayMs: 20, workers: 1, isDefault: true }, { engine: 'ollama', label: 'Slow fake', delayMs: 40, workers: 1 }], tickMs: 30 });
    const batch = fake.addBatch(Array.from({ length: 400 }, (_, i) => ({ creativeId: `r${i}`, imageUrl: `https://x.example/${i}.png` })));
    await fake.invoke('runs.start', { batchId: batch.batchId, policy: 'ratio', split: { embedded: 0.1, ollama: 0.9 }, lanes: [{ id: 'embedded', engine: 'embedded', workers: 1 }, { id: 'ollama', engine: 'ollama', workers: 1 }] });
    ({ api } = renderWithApi(<App />, fake));
    await waitFor(() => expect(screen.getByTestId('run-status').getAttribute('data-status')).toBe('running'));
    expect((screen.getByRole('radio', { name: 'Fixed split' }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole('slider', { name: 'Split' }) as HTMLInputElement).value).toBe('10');
    const target = (laneId: string) => within(document.querySelector<HTMLElement>(`[data-lane="${laneId}"]`)!).getByText('Target').parentElement?.textContent;
    expect(target('embedded')).toContain('10');
    expect(target('ollama')).toContain('90');
  });
});
