import { useState } from 'react';
import { useAppInfo } from '../../api/useAppInfo.js';
import { Button, Card } from '../../common/ui.js';

/** Where scripts reach this app: the local API's address and its key (hidden until asked for). */
export function ApiAccess() {
  const info = useAppInfo()?.api ?? null;
  const [shown, setShown] = useState(false);

  if (!info) return null;
  return (
    <Card className="mt-3" data-api-access="">
      <h2 className="text-sm font-semibold">Local API for scripts</h2>
      <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
        Python: <code>from parallel_vision import ParallelVisionAnalyzer, DeepSeekOCRClient</code> finds this app by itself. Reference:{' '}
        <code>{info.url}/v1/docs</code>
      </p>
      <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-xs">
        <dt className="text-zinc-500">Address</dt>
        <dd>
          <code>{info.url}/v1</code>
        </dd>
        <dt className="text-zinc-500">API key</dt>
        <dd className="flex items-center gap-2">
          <code aria-label="API key">{shown ? info.key : '•'.repeat(12)}</code>
          <Button onClick={() => setShown(!shown)}>{shown ? 'Hide key' : 'Show key'}</Button>
        </dd>
        <dt className="text-zinc-500">Key file</dt>
        <dd>
          <code>{info.keyFile}</code>
        </dd>
      </dl>
    </Card>
  );
}
