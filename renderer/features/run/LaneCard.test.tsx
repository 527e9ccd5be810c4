import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { LaneConfig, LaneProgress } from '../../../shared/domain.js';
import { LaneCard } from './LaneCard.js';

const lane: LaneConfig = { id: 'embedded', engine: 'embedded', label: 'Embedded OCR', workers: 2, enabled: true };
const progress: LaneProgress = {
  laneId: 'embedded',
  engine: 'embedded',
  label: 'Embedded OCR · PP-OCRv6 small',
  state: { type: 'busy' },
  workers: 2,
  concurrency: 2,
  done: 3,
  failed: 0,
  inFlight: 1,
  share: 1,
  adsPerMinute: 60,
  p50_s: 0.5,
  p95_s: 0.9,
  estimate_s: 0.6,
};

function card(p: LaneProgress | undefined) {
  const noop = () => undefined;
  return render(<LaneCard lane={lane} index={0} engine={undefined} progress={p} total={10} targetShare={null} running={p !== undefined} onToggle={noop} onWorkers={noop} onSettings={noop} />);
}

describe('LaneCard', () => {
  it('shows the engine and model the lane runs, as the engine reports it', () => {
    card(progress);
    expect(screen.getByTestId('lane-engine').textContent).toBe('Embedded OCR · PP-OCRv6 small');
  });

  it('shows nothing extra before the engine has reported', () => {
    card(undefined);
    expect(screen.queryByTestId('lane-engine')).toBeNull();
  });
});
