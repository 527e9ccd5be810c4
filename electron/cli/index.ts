/**
 * `parallel-vision` — the command line: run a list, export a run, list runs, browser
 * mode (`serve`) and the model services (`services`).
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportResults } from '../core/export/index.js';
import { dataPaths } from '../core/paths.js';
import { openStore } from '../core/store/index.js';
import { outputTarget, processIo, resolveDataDir, type CliIo } from './io.js';
import { UsageError } from '../core/app/run-settings.js';
import { exportFormatOf } from './options.js';
import { RUN_USAGE, runCommand, type RunDeps } from './run.js';

const EXPORT_USAGE = `Usage: parallel-vision export RUN --out FILE [options]

  RUN                   a run id (see \`parallel-vision runs\`) or "latest"
  --out, -o FILE        .csv, .json or .jsonl; - for standard output (with --format); missing folders are created
  --format F            csv | json | jsonl (default: from --out)
  --rows R              all | done | failed (default: all; pending ads are in "all")
  --data-dir DIR, --db PATH   which store to read`;

const RUNS_USAGE = `Usage: parallel-vision runs [--json] [--data-dir DIR | --db PATH]

  Lists the runs, newest first: id, status, done/total, failed, policy, when, source list.`;

const COMMAND_USAGE: Record<string, string> = { run: RUN_USAGE, export: EXPORT_USAGE, runs: RUNS_USAGE };

export const USAGE = `Usage: parallel-vision <command> [options]

Commands:
  run LIST [LIST…]            run an ad list (CSV/TSV/JSON/JSONL/TXT or image files); resumes an interrupted run
  run LIST --to-app           hand the list to the running app (its local API) instead of running here
  export RUN --out FILE       export a run's results (RUN: a run id or "latest"; FILE - for standard output); --format csv|json|jsonl, --rows all|done|failed
  runs                        list runs
  engines                     which engines this machine can run, and the default in-process one (--json)
  serve                       browser mode (the app UI on 127.0.0.1)
  api                         the local HTTP API without a window (--port N, --print-key)
  services status|start|stop [NAME]   the DeepSeek and Ollama services

Common options: --data-dir DIR (default: PARALLEL_VISION_DATA_DIR or the OS convention), --db PATH

${RUN_USAGE}`;

/** The store `export` and `runs` read. A --db file that is not there is an error, not a new empty store (a typo read as "no run latest"). */
function storePath(values: { db?: string; 'data-dir'?: string }, io: CliIo): string {
  if (!values.db) return dataPaths(resolveDataDir(values['data-dir'], io.env)).database;
  const file = resolve(values.db);
  if (!existsSync(file)) throw new Error(`--db ${values.db}: no such results store (${file})`);
  return file;
}

async function exportCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      format: { type: 'string' },
      rows: { type: 'string', default: 'all' },
      db: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(`${EXPORT_USAGE}\n`);
    return 0;
  }
  const runArg = positionals[0];
  if (!runArg) throw new UsageError('export needs a run id (see `parallel-vision runs`) or "latest"');
  if (!values.out) throw new UsageError('export needs --out FILE');
  const rows = values.rows;
  if (rows !== 'all' && rows !== 'done' && rows !== 'failed') throw new UsageError('--rows must be all, done or failed');
  const format = exportFormatOf(values.out, values.format);
  const store = openStore(storePath(values, io));
  try {
    const runId = runArg === 'latest' ? store.listRuns(1)[0]?.runId : runArg;
    if (!runId || !store.getRun(runId)) {
      io.err(`no run ${runArg}\n`);
      return 1;
    }
    const summary = await exportResults(store, runId, { format, rows }, outputTarget(values.out, io));
    io.err(`Wrote ${summary.rows} rows to ${summary.path ?? 'standard output'}\n`);
    return 0;
  } finally {
    store.close();
  }
}

async function runsCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { db: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    io.out(`${RUNS_USAGE}\n`);
    return 0;
  }
  const store = openStore(storePath(values, io));
  try {
    const runs = store.listRuns();
    if (values.json) {
      io.out(`${JSON.stringify(runs)}\n`);
      return 0;
    }
    if (runs.length === 0) {
      io.out('No runs yet.\n');
      return 0;
    }
    io.out(`${'run'.padEnd(24)} ${'status'.padEnd(11)} ${'done'.padStart(13)} ${'failed'.padStart(7)} ${'policy'.padEnd(7)} created              source\n`);
    for (const run of runs) {
      const created = new Date(run.createdAt).toISOString().slice(0, 19).replace('T', ' ');
      io.out(`${run.runId.padEnd(24)} ${run.status.padEnd(11)} ${`${run.done}/${run.total}`.padStart(13)} ${String(run.failed).padStart(7)} ${run.policy.padEnd(7)} ${created}  ${run.source}\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}

/** `deps` let tests inject engines (the test engine) into `run` and `serve`. */
export async function main(argv: string[], io: CliIo = processIo(), deps: RunDeps = {}): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(args, io, deps);
      case 'export':
        return await exportCommand(args, io);
      case 'runs':
        return await runsCommand(args, io);
      case 'serve':
        // Loaded only when asked for; literal paths so the bundler includes them.
        return await (await import('./serve.js')).runServe(args, deps.createEngine ? { createEngine: deps.createEngine } : {});
      case 'api':
        return await (await import('./api.js')).runApi(args, io, deps.createEngine ? { createEngine: deps.createEngine } : {});
      case 'services':
        return await (await import('./services.js')).runServicesCommand(args, { stdout: io.out, stderr: io.err, env: io.env });
      case 'engines': {
        const { formatEngineAvailability, listEngineAvailability } = await import('../core/engines/availability.js');
        const entries = await listEngineAvailability();
        io.out(args.includes('--json') ? `${JSON.stringify(entries)}\n` : `${formatEngineAvailability(entries)}\n`);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        // `help services` / `help api` / `help serve`: those commands answer --help themselves (their modules load on demand).
        if (command === 'help' && (args[0] === 'services' || args[0] === 'api' || args[0] === 'serve')) return await main([args[0], '--help'], io, deps);
        // `help export` / `help runs` / `help run`: that command's usage.
        io.out(`${(command === 'help' && COMMAND_USAGE[args[0] ?? '']) || USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.err(`parallel-vision: ${(error as Error).message}\n`);
    if (usage) {
      io.err('Run `parallel-vision help` for usage.\n');
      return 2;
    }
    return 1;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
