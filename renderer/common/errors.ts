/**
 * Turns what the backend or the transport threw into a sentence a user can act on.
 * The raw message is kept as a detail for the curious (and for bug reports).
 */
export interface FriendlyError {
  message: string;
  detail?: string;
}

interface Rule {
  test: RegExp;
  message: string;
}

const RULES: Rule[] = [
  { test: /wrong or missing token/i, message: 'This page is not allowed to talk to Parallel Vision. Open the link printed by `parallel-vision serve` again.' },
  { test: /connection to Parallel Vision closed|websocket|socket hang up/i, message: 'Lost the connection to Parallel Vision. It reconnects by itself when the app is back.' },
  { test: /EADDRINUSE|address already in use|port .*(taken|in use)/i, message: 'The port is taken by another program. Stop that program or pick another port.' },
  { test: /ECONNREFUSED|connection refused/i, message: 'The model service is not answering. Start it on the Services screen.' },
  { test: /ENOTFOUND|getaddrinfo/i, message: 'That host name could not be found. Check the address and the network.' },
  { test: /ETIMEDOUT|timed? ?out|deadline/i, message: 'The request took too long and was stopped.' },
  { test: /ENOENT|no such file/i, message: 'The file or program was not found.' },
  { test: /EACCES|permission denied/i, message: 'Permission denied. Check the folder’s permissions.' },
  { test: /not installed|command not found/i, message: 'This service is not installed yet. Run its setup first.' },
  { test: /out of memory|ENOMEM/i, message: 'The machine ran out of memory. Use fewer workers or close other apps.' },
  { test: /unknown run|run not found|no such run/i, message: 'That run no longer exists. Pick another one.' },
  { test: /empty batch|batch .*not found|unknown batch/i, message: 'There are no ads to process. Import an ad list first.' },
  { test: /too large|too big|payload/i, message: 'The file is too large to import in one go. Split it into smaller files.' },
];

function rawMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

/** `action` names what the user tried, e.g. "start the run". */
export function friendlyError(error: unknown, action?: string): FriendlyError {
  const raw = rawMessage(error).trim();
  const prefix = action ? `Could not ${action}. ` : '';
  const rule = RULES.find((r) => r.test.test(raw));
  if (rule) return { message: prefix + rule.message, detail: raw };
  if (errorCode(error) === 'invalid-request') {
    return { message: `${prefix}The request was rejected as invalid; this is a bug in the app.`, detail: raw };
  }
  if (!raw) return { message: `${prefix}Something went wrong.`.trim() };
  // Unknown but short and already a sentence: show it as is rather than hide it.
  return { message: prefix + (/[.!?]$/.test(raw) ? raw : `${raw}.`), detail: undefined };
}
