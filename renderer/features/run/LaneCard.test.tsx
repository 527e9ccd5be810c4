import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { LaneConfig, LaneProgress } from '../../../shared/domain.js';
import type { EngineInfo } from '../../../shared/api.js';
import { LaneCard } from './LaneCard.js';
import { lanesFromEngines, mergeLanes, parseWorkersInput, type LanePatch } from './lanes.js';

const lane: LaneConfig = { id: 'embedded', engine: 'embedded', label: 'Embedded OCR', workers: 4, autoWorkers: true, enabled: true };
const progress: LaneProgress = {
  laneId: 'embedded',
  engine: 'embedded',
  label: 'Embedded OCR',
  state: { type: 'busy' },
  workers: 4,
  concurrency: 2,
  done: 10,
  failed: 0,
  inFlight: 2,
  share: 1,
  adsPerMinute: 30,
  p50_s: 1,
  p95_s: 2,
  estimate_s: 1,
};

function renderCard(props: { lane?: LaneConfig; progress?: LaneProgress; running?: boolean; onWorkers?: (workers: number | 'auto') => void; onSettings?: (patch: LanePatch) => void }) {
  return render(
    <LaneCard
      lane={props.lane ?? lane}
      index={0}
      engine={undefined}
      progress={props.progress}
      total={100}
      targetShare={null}
      running={props.running ?? props.progress !== undefined}
      onToggle={() => undefined}
      onWorkers={props.onWorkers ?? (() => undefined)}
      onSettings={props.onSettings ?? (() => undefined)}
    />,
  );
}

describe('LaneCard concurrency and workers', () => {
  it('shows the concurrency the scheduler allows now, of the lane’s ceiling', () => {
    renderCard({ progress });
    expect(screen.getByTestId('lane-concurrency').textContent).toBe('concurrency 2 of 4');
    renderCard({ progress: { ...progress, concurrency: 4 } });
    expect(screen.getAllByTestId('lane-concurrency')[1]!.textContent).toBe('concurrency 4 of 4');
  });

  it('has no concurrency line before a run', () => {
    renderCard({});
    expect(screen.queryByTestId('lane-concurrency')).toBeNull();
  });

  it('after a run, shows the lane’s own workers setting again ("auto"), not the ceiling the run resolved it to', () => {
    renderCard({ progress: { ...progress, workers: 2, state: { type: 'idle' } }, running: false });
    expect((screen.getByLabelText('Workers for Embedded OCR') as HTMLInputElement).value).toBe('auto');
    expect(screen.queryByTestId('lane-concurrency')).toBeNull();
  });

  it('the workers field shows and accepts "auto" as well as a number, and refuses anything else', () => {
    const onWorkers = vi.fn();
    renderCard({ onWorkers });
    const input = screen.getByLabelText('Workers for Embedded OCR') as HTMLInputElement;
    expect(input.value).toBe('auto');
    fireEvent.change(input, { target: { value: '3' } });
    fireEvent.change(input, { target: { value: 'Auto' } });
    fireEvent.change(input, { target: { value: 'lots' } });
    fireEvent.change(input, { target: { value: '65' } });
    expect(onWorkers.mock.calls).toEqual([[3], ['auto']]);
    expect(input.getAttribute('aria-invalid')).toBe('true');
    renderCard({ lane: { ...lane, id: 'embedded-2', autoWorkers: false, workers: 2 } });
    expect((document.getElementById('lane-workers-embedded-2') as HTMLInputElement).value).toBe('2');
  });
});

describe('lanes before a run', () => {
  it('start as auto, showing the engine’s safe maximum as their workers', () => {
    const lanes = lanesFromEngines([{ engine: 'embedded', label: 'Embedded OCR', availability: { type: 'available' }, isDefault: true, defaultWorkers: 2 }]);
    expect(lanes[0]).toMatchObject({ workers: 2, autoWorkers: true, enabled: true });
  });

  it('keep the user’s edits and added lanes when the engine list is refreshed', () => {
    const engines: EngineInfo[] = [
      { engine: 'embedded', label: 'Embedded OCR', availability: { type: 'available' }, isDefault: true, defaultWorkers: 2 },
      { engine: 'openai', label: 'OpenAI-compatible endpoint', availability: { type: 'available' }, isDefault: false, defaultWorkers: 4 },
      { engine: 'ollama', label: 'Ollama', availability: { type: 'available' }, isDefault: false, defaultWorkers: 1 },
    ];
    const fresh = lanesFromEngines(engines);
    const edited: LaneConfig[] = [
      { ...fresh[0]!, settings: { model: 'fast' } },
      { ...fresh[1]!, enabled: true, endpoint: 'http://gpu-box:8000/v1', model: 'qwen-vl' },
      { id: 'openai-2', engine: 'openai', label: 'OpenAI-compatible endpoint 2', workers: 4, enabled: true, endpoint: 'http://gpu-two:8000/v1' },
      { ...fresh[2]!, enabled: true },
    ];
    const merged = mergeLanes(edited, engines);
    expect(merged.map((l) => l.id)).toEqual(['embedded', 'openai', 'openai-2', 'ollama']);
    expect(merged[0]!.settings).toEqual({ model: 'fast' });
    expect(merged[1]).toMatchObject({ endpoint: 'http://gpu-box:8000/v1', model: 'qwen-vl', enabled: true });
    expect(merged[2]).toMatchObject({ endpoint: 'http://gpu-two:8000/v1' });
    expect(merged[3]!.enabled).toBe(true);
    // An engine that went away switches its lanes off.
    const gone = mergeLanes(merged, engines.map((e) => (e.engine === 'openai' ? { ...e, availability: { type: 'unavailable' as const, reason: 'no' } } : e)));
    expect(gone.filter((l) => l.engine === 'openai').map((l) => l.enabled)).toEqual([false, false]);
  });

  it('read the workers field', () => {
    expect(['auto', ' AUTO ', '1', '64', '0', '65', '2.5', ''].map(parseWorkersInput)).toEqual(['auto', 'auto', 1, 64, null, null, null, null]);
  });
});

describe('LaneCard: the model the lane runs', () => {
  const reported: LaneProgress = { ...progress, label: 'Embedded OCR · PP-OCRv6 small' };
  it('shows the engine and model the lane runs, as the engine reports it', () => {
    renderCard({ progress: reported });
    expect(screen.getByTestId('lane-engine').textContent).toBe('Embedded OCR · PP-OCRv6 small');
  });

  it('shows nothing extra before the engine has reported', () => {
    renderCard({});
    expect(screen.queryByTestId('lane-engine')).toBeNull();
  });
});

describe('LaneCard: the embedded engine’s model and language', () => {
  const select = (name: string) => screen.getByLabelText(name) as HTMLSelectElement;
  const options = (name: string) => Array.from(select(name).options, (o) => o.value);

  it('offers both models, the accurate one first, and the languages the chosen model reads', () => {
    renderCard({});
    expect(select('Model').value).toBe('accurate');
    expect(Array.from(select('Model').options, (o) => o.textContent)).toEqual(['Accurate — PP-OCRv6 small', 'Fast — PP-OCRv4 mobile']);
    expect(options('Language')).toContain('fr');
    expect(options('Language')).toContain('el');
  });

  it('saves the choice as lane settings, and a language the fast model cannot read falls back to any', () => {
    const onSettings = vi.fn();
    const { rerender } = renderCard({ onSettings });
    fireEvent.change(select('Language'), { target: { value: 'fr' } });
    expect(onSettings).toHaveBeenLastCalledWith({ settings: { model: 'accurate', language: 'fr' } });
    const french: LaneConfig = { ...lane, settings: { model: 'accurate', language: 'fr', maxSide: 1200 } };
    rerender(<LaneCard lane={french} index={0} engine={undefined} progress={undefined} total={100} targetShare={null} running={false} onToggle={() => undefined} onWorkers={() => undefined} onSettings={onSettings} />);
    expect(select('Language').value).toBe('fr');
    fireEvent.change(select('Model'), { target: { value: 'fast' } });
    expect(onSettings).toHaveBeenLastCalledWith({ settings: { model: 'fast', maxSide: 1200 } });
    rerender(<LaneCard lane={{ ...lane, settings: { model: 'fast' } }} index={0} engine={undefined} progress={undefined} total={100} targetShare={null} running={false} onToggle={() => undefined} onWorkers={() => undefined} onSettings={onSettings} />);
    expect(options('Language')).toEqual(['auto', 'en', 'zh']);
  });

  it('is not offered for other engines, nor while the lane runs', () => {
    renderCard({ lane: { ...lane, id: 'ollama', engine: 'ollama' } });
    expect(screen.queryByLabelText('Language')).toBeNull();
    renderCard({ progress });
    expect(screen.queryByLabelText('Language')).toBeNull();
  });
});
