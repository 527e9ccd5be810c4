/** What the Electron preload puts on `window` (see electron/main/preload.ts). */
interface VisionBridge {
  invoke(channel: string, payload: unknown): Promise<unknown>;
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    visionBridge?: VisionBridge;
  }
}
