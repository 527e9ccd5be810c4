import { memo, useRef, useState, type ClipboardEvent, type DragEvent } from 'react';
import { flushSync } from 'react-dom';
import { useApi } from '../../api/context.js';
import { Button, ErrorNotice, Loading, focusRing } from '../../common/ui.js';
import { IMPORTED_ADS_ID } from './ImportPreview.js';
import { NothingToImportError, importDataTransfer, importFiles, importText, type ImportOutcome } from './importAds.js';
import { useRun } from './state.js';

/** The paste shortcut of this computer. */
const PASTE_KEYS = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘V' : 'Ctrl+V';

/** Memoised: the Run screen re-renders at every progress event, the drop zone need not. */
export const DropZone = memo(function DropZone() {
  const api = useApi();
  const importing = useRun((s) => s.importing);
  const importError = useRun((s) => s.importError);
  const importNotes = useRun((s) => s.importNotes);
  const [dragging, setDragging] = useState(false);
  const [pasteOpen, setPasteOpen] = useState(false);
  const [pasted, setPasted] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);
  const root = useRef<HTMLDivElement>(null);

  const run = async (work: () => Promise<ImportOutcome>) => {
    const store = useRun.getState();
    store.startImport();
    try {
      const { summary, notes } = await work();
      // Rendered at once so the preview is there to take the focus.
      flushSync(() => store.finishImport(summary, notes));
      // The control that was used (a button disabled while reading, the paste form about to close)
      // would leave the focus on the page: it goes to what was imported. Focus elsewhere stays.
      const focused = document.activeElement;
      if (!focused || focused === document.body || root.current?.contains(focused)) document.getElementById(IMPORTED_ADS_ID)?.focus();
      return true;
    } catch (error) {
      store.failImport(error, error instanceof NothingToImportError ? error.notes : []);
      return false;
    }
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void run(() => importDataTransfer(api, event.dataTransfer));
  };
  const onPaste = (event: ClipboardEvent) => {
    const files = Array.from(event.clipboardData.files);
    const text = event.clipboardData.getData('text/plain');
    if (!files.length && !text.trim()) return;
    event.preventDefault();
    void run(() => (files.length ? importFiles(api, files) : importText(api, text)));
  };

  return (
    <div ref={root} className="flex flex-col gap-2">
      <div
        data-testid="drop-zone"
        role="region"
        aria-label="Drop an ad list or images"
        tabIndex={0}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          if (!dragging) setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        onPaste={onPaste}
        className={`flex flex-col items-center justify-center gap-3 rounded-lg border-2 border-dashed px-6 py-7 text-center transition-colors ${focusRing} ${
          dragging ? 'border-blue-500 bg-blue-50 dark:bg-blue-950/40' : 'border-zinc-300 bg-zinc-50/60 dark:border-zinc-700 dark:bg-zinc-900/40'
        }`}
      >
        <p className="text-sm text-zinc-700 dark:text-zinc-300">
          <span className="font-medium">Drop an ad list</span> (CSV, TSV, JSON, JSONL, TXT of image URLs) or image files here, or paste with {PASTE_KEYS}.
        </p>
        <div className="flex gap-2">
          <Button variant="primary" onClick={() => fileInput.current?.click()} disabled={importing}>
            Choose files…
          </Button>
          <Button onClick={() => setPasteOpen((open) => !open)} aria-expanded={pasteOpen} disabled={importing}>
            Paste a list…
          </Button>
        </div>
        <input
          ref={fileInput}
          type="file"
          multiple
          accept=".csv,.tsv,.json,.jsonl,.ndjson,.txt,image/*"
          className="sr-only"
          aria-label="Ad list or image files"
          tabIndex={-1}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = '';
            if (files.length) void run(() => importFiles(api, files));
          }}
        />
        {importing && <Loading>Reading the ads…</Loading>}
      </div>
      {pasteOpen && (
        <form
          className="flex flex-col gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => importText(api, pasted)).then((ok) => {
              if (ok) {
                setPasted('');
                setPasteOpen(false);
              }
            });
          }}
        >
          <label htmlFor="paste-list" className="text-sm font-medium">
            Image URLs (one per line) or CSV text
          </label>
          <textarea
            id="paste-list"
            value={pasted}
            onChange={(e) => setPasted(e.target.value)}
            rows={5}
            className={`rounded-md border border-zinc-300 bg-white p-2 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-900 ${focusRing}`}
            placeholder={'https://example.com/ad-1.png\nhttps://example.com/ad-2.jpg'}
          />
          <div>
            <Button type="submit" variant="primary" disabled={!pasted.trim() || importing}>
              Import
            </Button>
          </div>
        </form>
      )}
      {importNotes.map((note) => (
        <p key={note} className="text-sm text-amber-700 dark:text-amber-400">
          {note}
        </p>
      ))}
      {importError != null && <ErrorNotice error={importError} action="import the ads" onDismiss={() => useRun.setState({ importError: null })} />}
    </div>
  );
});
