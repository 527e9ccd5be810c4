/** Carries the VisionApi over Electron IPC: one handler per command, events on one channel. */
import type { IpcMain, WebContents } from 'electron';
import { COMMAND_NAMES, IPC_EVENT_CHANNEL, ipcChannel, type EventName } from '../../shared/api.js';
import type { Dispatch } from '../core/app/dispatch.js';

export function registerIpcHandlers(ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>, dispatch: Dispatch, isTrustedSender: (sender: WebContents) => boolean): () => void {
  for (const name of COMMAND_NAMES) {
    ipcMain.handle(ipcChannel(name), (event, payload: unknown) => {
      if (!isTrustedSender(event.sender)) {
        return { ok: false, error: { code: 'failed', message: 'Refused: the request did not come from the app window' } };
      }
      return dispatch(name, payload);
    });
  }
  return () => COMMAND_NAMES.forEach((name) => ipcMain.removeHandler(ipcChannel(name)));
}

export function sendEvent(contents: WebContents | undefined, event: EventName, payload: unknown): void {
  if (contents && !contents.isDestroyed()) contents.send(IPC_EVENT_CHANNEL, { event, payload });
}
