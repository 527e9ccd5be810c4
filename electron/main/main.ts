/** Entry of the Electron main process: a few lines that wire core to the window. */
import * as electron from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackend } from '../core/app/backend.js';
import { registerAppScheme, startMainApp } from './app.js';
import { createSecretStore } from './secrets.js';

registerAppScheme(electron);
void startMainApp(electron, {
  distDir: path.dirname(fileURLToPath(import.meta.url)),
  createBackend: (dataDir, chooseExportPath) =>
    createBackend({
      mode: 'electron',
      version: electron.app.getVersion(),
      dataDir,
      // Packaged: the Python service ships under Resources/deepseek; in development it is scripts/deepseek.
      pythonServiceDir: electron.app.isPackaged ? path.join(process.resourcesPath, 'deepseek') : path.join(electron.app.getAppPath(), 'scripts', 'deepseek'),
      chooseExportPath,
      secrets: createSecretStore(dataDir, electron.safeStorage),
    }),
}).catch((error: unknown) => {
  electron.dialog.showErrorBox('Parallel Vision could not start', error instanceof Error ? error.message : String(error));
  electron.app.exit(1);
});
