/**
 * Exposes exactly the VisionApi transport to the page: invoke a known command, and
 * subscribe to events. Nothing else of Electron or Node reaches the renderer.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_EVENT_CHANNEL, ipcChannel, isCommandName } from '../../shared/api.js';

const bridge = {
  invoke(channel: string, payload: unknown): Promise<unknown> {
    if (!isCommandName(channel)) return Promise.resolve({ ok: false, error: { code: 'unknown-channel', message: `Unknown command ${channel}` } });
    return ipcRenderer.invoke(ipcChannel(channel), payload);
  },
  subscribe(listener: (event: string, payload: unknown) => void): () => void {
    const handler = (_event: IpcRendererEvent, frame: { event: string; payload: unknown }) => listener(frame.event, frame.payload);
    ipcRenderer.on(IPC_EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('visionBridge', bridge);
