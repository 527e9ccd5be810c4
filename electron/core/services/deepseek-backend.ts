/**
 * The DeepSeek service's backend: which Python environment runs it — one per backend, since
 * torch's remote code and mlx-vlm need different transformers versions — and the user's
 * saved choice (`<dataDir>/services/deepseek-backend.json`), so a pick on the Services
 * screen or `services start deepseek --backend mlx` survives a restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DeepSeekBackendChoice, type DeepSeekServiceBackend } from '../../../shared/deepseek-routes.js';

/** A backend that names one environment (`deepseek` is resolved to mlx or torch first). */
export type ConcreteDeepSeekBackend = Exclude<DeepSeekServiceBackend, 'deepseek'>;

/** `<base>` for rapidocr, `<base>-mlx`, `<base>-torch`: the rule `setup_venv.py --backend` follows too. */
export function backendVenvDir(base: string, backend: ConcreteDeepSeekBackend): string {
  return backend === 'rapidocr' ? base : `${base}-${backend}`;
}

/** `deepseek` is MLX on Apple Silicon when its environment is there, else torch (when there), else the platform's natural one. */
export function resolveDeepSeekBackend(backend: DeepSeekServiceBackend, appleSilicon: boolean, hasVenv: (backend: ConcreteDeepSeekBackend) => boolean): ConcreteDeepSeekBackend {
  if (backend !== 'deepseek') return backend;
  if (appleSilicon && hasVenv('mlx')) return 'mlx';
  if (hasVenv('torch')) return 'torch';
  return appleSilicon ? 'mlx' : 'torch';
}

/**
 * The one command that creates a backend's environment where the supervisor looks: the
 * repository's `npm run setup:python` for `scripts/deepseek/.venv*`, else the CLI's setup
 * (what the Services screen's Set up runs) for the app's data folder.
 */
export function setupCommandFor(backend: ConcreteDeepSeekBackend, venvBase: string, serviceDir: string): string {
  const flag = backend === 'rapidocr' ? '' : ` --backend ${backend}`;
  if (resolve(venvBase) === resolve(serviceDir, '.venv')) return `npm run setup:python${flag ? ` --${flag}` : ''}`;
  return `parallel-vision services setup deepseek${flag}`;
}

export function savedChoiceFile(dataDir: string): string {
  return join(dataDir, 'services', 'deepseek-backend.json');
}

export type SavedChoice = { type: 'none' } | { type: 'saved'; choice: DeepSeekBackendChoice } | { type: 'unreadable'; problem: string };

/** The saved choice; a file that is not a valid choice is reported (and then ignored), never thrown. */
export function readSavedChoice(file: string): SavedChoice {
  if (!existsSync(file)) return { type: 'none' };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { type: 'unreadable', problem: `${file} is not JSON (${(error as Error).message}): using the default backend` };
  }
  const parsed = DeepSeekBackendChoice.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { type: 'unreadable', problem: `${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}: using the default backend` };
  }
  return { type: 'saved', choice: parsed.data };
}

/** Written whole (temp file, then rename), so a crash never leaves half a choice. */
export async function saveChoice(file: string, choice: DeepSeekBackendChoice): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(DeepSeekBackendChoice.parse(choice), null, 2)}\n`);
  await rename(temp, file);
}

/** A folder rather than a Hugging Face id (torch takes either). */
export function looksLikePath(model: string): boolean {
  return isAbsolute(model) || model.startsWith('.');
}

/** What is wrong with `--model` for a backend, or null: rapidocr takes none, mlx needs a local folder. */
export function modelProblem(backend: DeepSeekServiceBackend, model: string | undefined): string | null {
  if (model === undefined) return null;
  if (backend === 'rapidocr') return `model: the rapidocr backend takes no model (its models ship in its wheel); --model is for mlx and torch`;
  if ((backend === 'mlx' || looksLikePath(model)) && !existsSync(model)) return `model: the folder ${model} does not exist${backend === 'mlx' ? ' (mlx takes a local MLX model folder)' : ''}`;
  return null;
}
