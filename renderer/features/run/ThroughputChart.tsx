import { memo, useMemo } from 'react';
import { LANE_STROKES } from '../../common/ui.js';
import type { ThroughputSample } from './throughput.js';
import { ratesByLane } from './throughput.js';

const WIDTH = 600;
const HEIGHT = 140;
const PAD = { left: 36, right: 8, top: 8, bottom: 18 };

interface Props {
  history: readonly ThroughputSample[];
  lanes: readonly { laneId: string; label: string; colorIndex: number }[];
}

/** Ads per minute per lane over the run, as lines: a plain SVG, cheap to redraw at 10/s. */
export const ThroughputChart = memo(function ThroughputChart({ history, lanes }: Props) {
  const series = useMemo(() => ratesByLane(history), [history]);
  const points = Object.values(series).flat();
  if (points.length < 2) {
    return <p className="text-xs text-zinc-500 dark:text-zinc-400">Throughput appears here once a few ads are done.</p>;
  }
  const tMin = history[0]?.t ?? 0;
  const tMax = Math.max(tMin + 1, history[history.length - 1]?.t ?? 1);
  const yMax = Math.max(1, ...points.map((p) => p.perMinute)) * 1.1;
  const x = (t: number) => PAD.left + ((t - tMin) / (tMax - tMin)) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / yMax) * (HEIGHT - PAD.top - PAD.bottom);
  return (
    <figure className="flex flex-col gap-1">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="h-36 w-full" role="img" aria-label="Throughput over time per lane, ads per minute">
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0)} y2={y(0)} className="stroke-zinc-300 dark:stroke-zinc-700" />
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(yMax / 1.1)} y2={y(yMax / 1.1)} className="stroke-zinc-200 dark:stroke-zinc-800" strokeDasharray="3 3" />
        <text x={PAD.left - 4} y={y(yMax / 1.1) + 4} textAnchor="end" className="fill-zinc-500 text-[10px]">
          {Math.round(yMax / 1.1)}
        </text>
        <text x={PAD.left - 4} y={y(0) + 4} textAnchor="end" className="fill-zinc-500 text-[10px]">
          0
        </text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 4} textAnchor="end" className="fill-zinc-500 text-[10px]">
          {Math.round(tMax)} s
        </text>
        {lanes.map((lane) => {
          const line = series[lane.laneId];
          if (!line?.length) return null;
          return (
            <polyline
              key={lane.laneId}
              data-series={lane.laneId}
              fill="none"
              stroke={LANE_STROKES[lane.colorIndex % LANE_STROKES.length]}
              strokeWidth={1.75}
              strokeLinejoin="round"
              points={line.map((p) => `${x(p.t).toFixed(1)},${y(p.perMinute).toFixed(1)}`).join(' ')}
            />
          );
        })}
      </svg>
      <figcaption className="flex flex-wrap gap-3 text-xs text-zinc-600 dark:text-zinc-400">
        {lanes.map((lane) => (
          <span key={lane.laneId} className="flex items-center gap-1">
            <span className="inline-block h-0.5 w-3" style={{ background: LANE_STROKES[lane.colorIndex % LANE_STROKES.length] }} aria-hidden />
            {lane.label}
          </span>
        ))}
        <span className="ml-auto">ads / min</span>
      </figcaption>
    </figure>
  );
});
