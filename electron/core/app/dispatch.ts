/**
 * The receiving side of every command, shared by Electron IPC and the browser-mode
 * WebSocket: validate the payload with the contract's zod schema, run the handler,
 * and answer a value (never a thrown error, which IPC would mangle).
 */
import { commands, describeZodIssues, isCommandName, type RpcReply, type VisionHandlers } from '../../../shared/api.js';

export type Dispatch = (channel: string, payload: unknown) => Promise<RpcReply>;

export function createDispatcher(handlers: VisionHandlers, onError?: (channel: string, error: unknown) => void): Dispatch {
  return async (channel, payload) => {
    if (!isCommandName(channel)) {
      return { ok: false, error: { code: 'unknown-channel', message: `Unknown command ${JSON.stringify(String(channel).slice(0, 64))}` } };
    }
    const parsed = commands[channel].request.safeParse(payload ?? {});
    if (!parsed.success) {
      const issues = describeZodIssues(parsed.error);
      return { ok: false, error: { code: 'invalid-request', message: `Invalid request for ${channel}: ${issues.join('; ')}`, issues } };
    }
    try {
      const handler = handlers[channel] as (request: unknown) => Promise<unknown>;
      return { ok: true, value: await handler(parsed.data) };
    } catch (error) {
      onError?.(channel, error);
      return { ok: false, error: { code: 'failed', message: error instanceof Error ? error.message : String(error) } };
    }
  };
}
