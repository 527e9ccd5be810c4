import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { LaneConfig, LaneProgress } from '../../../shared/domain.js';
import { LaneCard } from './LaneCard.js';
import { lanesFromEngines, parseWorkersInput } from './lanes.js';

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

function renderCard(props: { lane?: LaneConfig; progress?: LaneProgress; onWorkers?: (workers: number | 'auto') => void }) {
  return render(
    <LaneCard
      lane={props.lane ?? lane}
      index={0}
      engine={undefined}
      progress={props.progress}
      total={100}
      targetShare={null}
      running={props.progress !== undefined}
      onToggle={() => undefined}
      onWorkers={props.onWorkers ?? (() => undefined)}
      onSettings={() => undefined}
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

  it('the workers field shows and accepts "auto" as well as a number, and refuses anything else', () => {
    const onWorkers = vi.fn();
    renderCard({ onWorkers });
    const input = screen.getByLabelText('Workers') as HTMLInputElement;
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
