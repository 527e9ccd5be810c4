import { useApi } from '../../api/context.js';
import { useAppInfo } from '../../api/useAppInfo.js';
import { formatCount, fraction } from '../../common/format.js';
import { Button, Card, EmptyState, ErrorNotice, ProgressBar, focusRing } from '../../common/ui.js';
import { RunPicker } from '../results/RunPicker.js';
import { useResults } from '../results/state.js';
import { resolveDownloadUrl, useExport, type ExportRows } from './state.js';
import { isLiveRunStatus, type ExportFormat } from '../../../shared/domain.js';

const FORMATS: { value: ExportFormat; label: string; hint: string }[] = [
  { value: 'csv', label: 'CSV', hint: 'For spreadsheets (Excel reads its accents and symbols): your columns, then _vision_model, _vision_text, _vision_time, _vision_status, _vision_error, _vision_description and _vision_truncated.' },
  { value: 'json', label: 'JSON', hint: 'One array with every field, including text boxes.' },
  { value: 'jsonl', label: 'JSONL', hint: 'One JSON object per line; best for very large runs.' },
];

const ROWS: { value: ExportRows; label: string }[] = [
  { value: 'all', label: 'All ads' },
  { value: 'done', label: 'Only done' },
  { value: 'failed', label: 'Only failed' },
];

export function ExportScreen() {
  const api = useApi();
  const runId = useResults((s) => s.runId);
  const { format, rows, path, running, progress, outcome, error } = useExport();
  const info = useAppInfo();
  const browserMode = info?.mode === 'browser';
  const status = useResults((s) => s.runs?.find((r) => r.runId === runId)?.status);
  const activeRun = status != null && isLiveRunStatus(status);
  const start = async () => {
    if (!runId) return;
    const store = useExport.getState();
    store.start();
    try {
      const result = await api.invoke('export.start', { runId, format, rows, path: !browserMode && path.trim() ? path.trim() : undefined });
      useExport.getState().finished({ ...result, runId });
      // Browser mode writes the file on the server: fetch it in the same click. (Electron saved it where its dialog said, and gives no URL.)
      const download = downloadOf(result);
      if (download) startDownload(download);
    } catch (e) {
      // Closing Electron's save dialog is a choice, not an error.
      if (e instanceof Error && /^Export cancelled/i.test(e.message)) useExport.setState({ running: false });
      else useExport.getState().failed(e);
    }
  };

  return (
    <div className="flex max-w-2xl flex-col gap-4">
      <RunPicker label="Run to export" />
      {!runId ? (
        <EmptyState title="No run selected">Pick a run to export its results.</EmptyState>
      ) : (
        <Card className="flex flex-col gap-4">
          <fieldset className="flex flex-col gap-2">
            <legend className="mb-1 text-sm font-medium">Format</legend>
            {FORMATS.map((f) => (
              <label key={f.value} className="flex items-start gap-2 text-sm">
                <input type="radio" name="export-format" value={f.value} checked={format === f.value} onChange={() => useExport.getState().set({ format: f.value })} className={`mt-0.5 accent-blue-600 ${focusRing}`} />
                <span>
                  <span className="font-medium">{f.label}</span> <span className="text-zinc-500 dark:text-zinc-400">— {f.hint}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <fieldset className="flex flex-col gap-2">
            <legend className="mb-1 text-sm font-medium">Rows</legend>
            <div className="flex gap-4">
              {ROWS.map((r) => (
                <label key={r.value} className="flex items-center gap-2 text-sm">
                  <input type="radio" name="export-rows" value={r.value} checked={rows === r.value} onChange={() => useExport.getState().set({ rows: r.value })} className={`accent-blue-600 ${focusRing}`} />
                  {r.label}
                </label>
              ))}
            </div>
          </fieldset>
          {!browserMode && (
            <label className="flex flex-col gap-1 text-sm">
              <span className="font-medium">Save to</span>
              <input
                type="text"
                value={path}
                onChange={(e) => useExport.getState().set({ path: e.target.value })}
                placeholder="Leave empty to choose in a save dialog"
                className={`rounded-md border border-zinc-300 bg-white px-2 py-1 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-950 ${focusRing}`}
              />
            </label>
          )}
          {activeRun && <p className="text-sm text-amber-700 dark:text-amber-400">This run is still going: the export holds the ads finished so far.</p>}
          {browserMode && <p className="text-sm text-zinc-500 dark:text-zinc-400">The file is written to the app’s data folder and downloaded by this browser.</p>}
          <div>
            <Button variant="primary" onClick={() => void start()} disabled={running}>
              {running ? 'Exporting…' : `Export ${format.toUpperCase()}`}
            </Button>
          </div>
          {running && progress && (
            <div className="flex flex-col gap-1">
              <ProgressBar value={fraction(progress.written, progress.total)} label="Export progress" />
              <p className="text-xs tabular-nums text-zinc-500">
                {formatCount(progress.written)} of {formatCount(progress.total)} rows written
              </p>
            </div>
          )}
          {error != null && <ErrorNotice error={error} action="export the results" onDismiss={() => useExport.setState({ error: null })} />}
          {outcome?.runId === runId && <ExportDone outcome={outcome} />}
        </Card>
      )}
    </div>
  );
}

/** Where the browser can fetch an export, and the file's name; null when there is nothing to download (Electron) or the URL is refused. */
function downloadOf(outcome: { path: string; downloadUrl?: string }): { href: string; fileName: string } | null {
  if (!outcome.downloadUrl) return null;
  try {
    return { href: resolveDownloadUrl(outcome.downloadUrl, window.location.href), fileName: outcome.path.split(/[\\/]/).pop() || 'export' };
  } catch {
    return null;
  }
}

function startDownload({ href, fileName }: { href: string; fileName: string }): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = fileName;
  link.click();
}

function ExportDone({ outcome }: { outcome: { path: string; rows: number; downloadUrl?: string } }) {
  const download = downloadOf(outcome);
  return (
    <div role="status" className="flex flex-col gap-1 rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm dark:border-emerald-900 dark:bg-emerald-950/40" data-testid="export-done">
      <p>
        Exported <span className="font-medium tabular-nums">{formatCount(outcome.rows)}</span> row{outcome.rows === 1 ? '' : 's'} to <code className="break-all text-xs">{outcome.path}</code>.
      </p>
      {download && (
        <p className="text-xs text-zinc-600 dark:text-zinc-400">
          Sent to this browser’s downloads. Not there?{' '}
          <a href={download.href} download={download.fileName} className={`font-medium text-blue-700 underline dark:text-blue-400 ${focusRing}`}>
            Download {download.fileName}
          </a>
        </p>
      )}
    </div>
  );
}
