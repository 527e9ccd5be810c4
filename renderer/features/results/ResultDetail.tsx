import { useEffect, useState, type ReactNode } from 'react';
import type { ImageData, ResultDetail as Detail } from '../../../shared/api.js';
import type { AdResult } from '../../../shared/domain.js';
import { useApi } from '../../api/context.js';
import { formatMs } from '../../common/format.js';
import { Button, ErrorNotice, Loading, focusRing } from '../../common/ui.js';
import { useResults } from './state.js';

type Loaded<T> = { type: 'loading' } | { type: 'error'; error: unknown } | { type: 'ready'; value: T };

export function ResultDetail({ runId, creativeId }: { runId: string; creativeId: string }) {
  const api = useApi();
  const version = useResults((s) => s.version);
  const [detail, setDetail] = useState<Loaded<Detail>>({ type: 'loading' });
  const [image, setImage] = useState<Loaded<ImageData>>({ type: 'loading' });
  const [engineIndex, setEngineIndex] = useState(0);

  useEffect(() => {
    let live = true;
    setImage({ type: 'loading' });
    setEngineIndex(0);
    api.invoke('results.image', { runId, creativeId }).then(
      (value) => live && setImage({ type: 'ready', value }),
      (error: unknown) => live && setImage({ type: 'error', error }),
    );
    return () => {
      live = false;
    };
  }, [api, runId, creativeId]);

  // Reload while the ad is still pending: its result may have just arrived.
  const finished = detail.type === 'ready' && detail.value.results.length > 0;
  useEffect(() => {
    let live = true;
    api.invoke('results.get', { runId, creativeId }).then(
      (value) => live && setDetail({ type: 'ready', value }),
      (error: unknown) => live && setDetail({ type: 'error', error }),
    );
    return () => {
      live = false;
    };
    // `version` only matters until the ad is finished.
  }, [api, runId, creativeId, finished ? 0 : version]);

  const result = detail.type === 'ready' ? detail.value.results[engineIndex] : undefined;

  return (
    <aside
      aria-label="Result detail"
      onKeyDown={(e) => {
        if (e.key === 'Escape') useResults.getState().select(null);
      }}
      className="flex min-h-0 flex-col gap-3 overflow-auto rounded-lg border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900">
      <header className="flex items-start gap-2">
        <div className="min-w-0 flex-1">
          <h3 className="truncate font-mono text-sm font-semibold" title={creativeId}>
            {creativeId}
          </h3>
          {detail.type === 'ready' && (
            <p className="truncate text-xs text-zinc-500" title={detail.value.imageUrl}>
              {detail.value.imageUrl}
            </p>
          )}
        </div>
        <Button variant="ghost" className="px-2" aria-label="Close detail" onClick={() => useResults.getState().select(null)}>
          ✕
        </Button>
      </header>
      {image.type === 'loading' && <Loading>Loading the image…</Loading>}
      {image.type === 'error' && <ErrorNotice error={image.error} action="load the image" />}
      {image.type === 'ready' && <ImageWithBoxes image={image.value} blocks={result?.blocks ?? []} />}
      {detail.type === 'loading' && <Loading>Loading the result…</Loading>}
      {detail.type === 'error' && <ErrorNotice error={detail.error} action="load this result" />}
      {detail.type === 'ready' && (
        <>
          {detail.value.results.length > 1 && (
            <div role="tablist" aria-label="Engine" className="flex gap-1">
              {detail.value.results.map((r, i) => (
                <button
                  key={`${r.engine}-${r.laneId}-${i}`}
                  role="tab"
                  type="button"
                  aria-selected={i === engineIndex}
                  onClick={() => setEngineIndex(i)}
                  className={`rounded-md px-2 py-1 text-xs ${focusRing} ${i === engineIndex ? 'bg-blue-600 text-white' : 'bg-zinc-100 dark:bg-zinc-800'}`}
                >
                  {r.engine ?? 'unknown'}
                </button>
              ))}
            </div>
          )}
          {detail.value.adText && <Field label="Ad text">{detail.value.adText}</Field>}
          {result ? <ResultBody result={result} /> : <p className="text-sm text-zinc-500">Not processed yet.</p>}
          <Attempts attempts={detail.value.attempts} />
        </>
      )}
    </aside>
  );
}

function Field({ label, children, action }: { label: string; children: ReactNode; action?: ReactNode }) {
  return (
    <section className="flex flex-col gap-1">
      <div className="flex items-center justify-between">
        <h4 className="text-xs font-medium uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{label}</h4>
        {action}
      </div>
      <div className="text-sm">{children}</div>
    </section>
  );
}

function ResultBody({ result }: { result: AdResult }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    void navigator.clipboard?.writeText(result.text).then(() => {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    });
  };
  return (
    <>
      <p data-testid="result-summary" className="text-xs text-zinc-500 dark:text-zinc-400">
        {resultSummary(result)}
      </p>
      {result.error && <ErrorNotice error={result.error} />}
      {result.truncated && (
        <p data-testid="result-truncated" className="rounded-md bg-amber-50 px-2 py-1 text-xs text-amber-800 dark:bg-amber-950 dark:text-amber-200">
          Truncated: the engine started repeating itself or ran out of its output or time budget, so its answer was cut. The text below is what it read before.
        </p>
      )}
      <Field
        label="Text"
        action={
          <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={copy} disabled={!result.text}>
            {copied ? 'Copied' : 'Copy'}
          </Button>
        }
      >
        {result.text ? (
          <pre data-testid="result-text" className="max-h-64 overflow-auto whitespace-pre-wrap rounded-md bg-zinc-50 p-2 font-mono text-xs select-text dark:bg-zinc-950">
            {result.text}
          </pre>
        ) : (
          <p className="text-zinc-500">No text.</p>
        )}
      </Field>
      {result.description && <Field label="Description">{result.description}</Field>}
    </>
  );
}

/** "Done on embedded (ppocr) in 120 ms · 4 text boxes"; a failure names only what it knows (an image that never downloaded reached no engine). */
function resultSummary(result: AdResult): string {
  const where = result.engine ? ` on ${result.engine}${result.model ? ` (${result.model})` : ''}` : '';
  const time = result.durationMs != null ? ` ${result.status === 'done' ? 'in' : 'after'} ${formatMs(result.durationMs)}` : '';
  if (result.status !== 'done') return `Failed${where}${time}`;
  return `Done${where}${time} · ${result.blocks.length} text box${result.blocks.length === 1 ? '' : 'es'}`;
}

function Attempts({ attempts }: { attempts: Detail['attempts'] }) {
  if (!attempts.length) return null;
  return (
    <Field label="Attempts">
      <table className="w-full text-left text-xs">
        <thead className="text-zinc-500">
          <tr>
            <th className="py-0.5 pr-3 font-medium">Engine</th>
            <th className="py-0.5 pr-3 font-medium">Lane</th>
            <th className="py-0.5 text-right font-medium">Time</th>
            <th className="py-0.5 pl-2 font-medium">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((attempt, i) => (
            <tr key={`${attempt.laneId}-${attempt.startedAt}-${i}`} className="border-t border-zinc-100 align-top dark:border-zinc-800">
              <td className="py-0.5 pr-3">{attempt.engine}</td>
              <td className="py-0.5 pr-3 font-mono">{attempt.laneId}</td>
              <td className="py-0.5 text-right tabular-nums">{formatMs(attempt.durationMs)}</td>
              <td className={`py-0.5 pl-2 ${attempt.outcome === 'ok' ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-600 dark:text-red-400'}`}>
                {attempt.outcome}
                {attempt.error ? `: ${attempt.error}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Field>
  );
}

/** The image with the recognised boxes drawn over it, in the image's own pixel coordinates. */
function ImageWithBoxes({ image, blocks }: { image: ImageData; blocks: AdResult['blocks'] }) {
  const [showBoxes, setShowBoxes] = useState(true);
  const src = `data:${image.mime};base64,${image.base64}`;
  return (
    <figure className="flex flex-col gap-1">
      {/* Sized by the image's own ratio (at most half the window high), so the boxes stay on their words. */}
      <div
        className="relative mx-auto overflow-hidden rounded-md bg-zinc-100 dark:bg-zinc-950"
        style={{ aspectRatio: `${image.width} / ${image.height}`, width: `min(100%, calc(50vh * ${image.height > 0 ? image.width / image.height : 1}))` }}
      >
        <img src={src} alt="The ad" className="absolute inset-0 h-full w-full object-contain" />
        {showBoxes && blocks.length > 0 && (
          <svg data-testid="boxes" viewBox={`0 0 ${image.width} ${image.height}`} preserveAspectRatio="none" className="absolute inset-0 h-full w-full" aria-hidden>
            {blocks.map((block, i) => {
              const [x1, y1, x2, y2] = block.box;
              return (
                <rect key={i} x={x1} y={y1} width={Math.max(0, x2 - x1)} height={Math.max(0, y2 - y1)} fill="rgb(59 130 246 / 0.12)" stroke="rgb(37 99 235)" strokeWidth={Math.max(1, image.width / 300)} vectorEffect="non-scaling-stroke">
                  <title>{block.text}</title>
                </rect>
              );
            })}
          </svg>
        )}
      </div>
      {blocks.length > 0 && (
        <label className="flex items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
          <input type="checkbox" checked={showBoxes} onChange={(e) => setShowBoxes(e.target.checked)} className={`accent-blue-600 ${focusRing}`} />
          Show text boxes ({blocks.length})
        </label>
      )}
    </figure>
  );
}
