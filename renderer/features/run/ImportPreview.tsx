import { memo } from 'react';
import { formatCount } from '../../common/format.js';
import { focusRing } from '../../common/ui.js';
import { useRun } from './state.js';

const PREVIEW_ROWS = 8;
/** Rejected rows listed; the count says how many there are in all. */
const REJECTED_SHOWN = 200;
/** The preview's id: the drop zone moves the focus here after an import. */
export const IMPORTED_ADS_ID = 'imported-ads';

export const ImportPreview = memo(function ImportPreview() {
  const summary = useRun((s) => s.summary);
  if (!summary) return null;
  const { accepted, rejected, rejectedTotal, preview, source } = summary;
  const hasAdText = preview.some((ad) => ad.adText);
  const shownRejected = rejected.slice(0, REJECTED_SHOWN);
  return (
    <div id={IMPORTED_ADS_ID} tabIndex={-1} aria-label="Imported ads" role="region" className={`flex flex-col gap-3 rounded-md ${focusRing}`}>
      <p className="text-sm">
        <span className="font-medium">{source}</span>: <span data-testid="accepted-count">{formatCount(accepted)}</span> ad{accepted === 1 ? '' : 's'} ready
        {rejectedTotal > 0 && (
          <>
            , <span className="text-red-700 dark:text-red-400">{formatCount(rejectedTotal)} rejected</span>
          </>
        )}
        .
      </p>
      {preview.length > 0 && (
        <div className="overflow-x-auto rounded-md border border-zinc-200 dark:border-zinc-800">
          <table className="w-full table-fixed text-left text-xs">
            <caption className="sr-only">First imported ads</caption>
            <thead className="bg-zinc-50 text-zinc-500 dark:bg-zinc-900 dark:text-zinc-400">
              <tr>
                <th className="w-1/4 px-2 py-1 font-medium">Creative</th>
                <th className="px-2 py-1 font-medium">Image</th>
                {hasAdText && <th className="w-1/3 px-2 py-1 font-medium">Ad text</th>}
              </tr>
            </thead>
            <tbody>
              {preview.slice(0, PREVIEW_ROWS).map((ad) => (
                <tr key={ad.creativeId} className="border-t border-zinc-100 dark:border-zinc-800">
                  <td className="truncate px-2 py-1 font-mono" title={ad.creativeId}>
                    {ad.creativeId}
                  </td>
                  <td className="truncate px-2 py-1 font-mono text-zinc-500" title={ad.imageUrl}>
                    {ad.imageUrl}
                  </td>
                  {hasAdText && (
                    <td className="truncate px-2 py-1" title={ad.adText ?? ''}>
                      {ad.adText ?? ''}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {accepted > PREVIEW_ROWS && <p className="border-t border-zinc-100 px-2 py-1 text-xs text-zinc-500 dark:border-zinc-800">… and {formatCount(accepted - Math.min(PREVIEW_ROWS, preview.length))} more</p>}
        </div>
      )}
      {rejected.length > 0 && (
        <details open={rejected.length <= 5} className="rounded-md border border-red-200 bg-red-50/60 px-3 py-2 text-xs dark:border-red-900 dark:bg-red-950/30">
          <summary className="cursor-pointer text-sm font-medium text-red-800 dark:text-red-300">Rejected rows</summary>
          <ul aria-label="Rejected rows" className="mt-2 flex max-h-40 flex-col gap-1 overflow-auto">
            {shownRejected.map((row) => (
              <li key={`${row.line}-${row.reason}`} data-line={row.line}>
                <span className="font-mono">line {row.line}</span>: {row.reason}
                {row.raw && <span className="ml-1 font-mono text-zinc-500">({row.raw.slice(0, 80)})</span>}
              </li>
            ))}
          </ul>
          {rejectedTotal > shownRejected.length && <p className="mt-1 text-zinc-500">… and {formatCount(rejectedTotal - shownRejected.length)} more</p>}
        </details>
      )}
    </div>
  );
});
