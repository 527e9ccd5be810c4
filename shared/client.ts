/**
 * The renderer-side VisionApi over any transport (Electron preload or WebSocket).
 * Replies and events are validated with the contract's schemas: the renderer trusts
 * nothing that crossed a process boundary.
 */
import {
  RpcReply,
  commands,
  describeZodIssues,
  events,
  isEventName,
  type CommandName,
  type CommandRequest,
  type CommandResponse,
  type EventName,
  type EventPayload,
  type VisionApi,
} from './api.js';

export interface VisionTransport {
  invoke(channel: CommandName, payload: unknown): Promise<unknown>;
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
}

export class VisionApiError extends Error {
  override readonly name = 'VisionApiError';
  constructor(
    message: string,
    readonly code: string,
    readonly issues: string[] = [],
  ) {
    super(message);
  }
}

export function createVisionApi(transport: VisionTransport, onInvalidEvent: (message: string) => void = console.warn): VisionApi {
  type AnyListener = (payload: unknown) => void;
  const listeners = new Map<EventName, Set<AnyListener>>();
  let unsubscribeTransport: (() => void) | null = null;

  const dispatchEvent = (event: string, payload: unknown): void => {
    if (!isEventName(event)) return onInvalidEvent(`ignored unknown event ${JSON.stringify(event)}`);
    const set = listeners.get(event);
    if (!set?.size) return;
    const parsed = events[event].safeParse(payload);
    if (!parsed.success) return onInvalidEvent(`ignored malformed ${event} event: ${describeZodIssues(parsed.error).join('; ')}`);
    for (const listener of set) listener(parsed.data);
  };

  return {
    async invoke<C extends CommandName>(channel: C, request: CommandRequest<C>): Promise<CommandResponse<C>> {
      const raw = await transport.invoke(channel, request);
      const reply = RpcReply.safeParse(raw);
      if (!reply.success) throw new VisionApiError(`Malformed reply to ${channel}`, 'failed');
      if (!reply.data.ok) throw new VisionApiError(reply.data.error.message, reply.data.error.code, reply.data.error.issues);
      const value = commands[channel].response.safeParse(reply.data.value);
      if (!value.success) {
        throw new VisionApiError(`Malformed reply to ${channel}: ${describeZodIssues(value.error).join('; ')}`, 'failed');
      }
      return value.data as CommandResponse<C>;
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
      unsubscribeTransport ??= transport.subscribe(dispatchEvent);
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const wrapped = listener as AnyListener;
      set.add(wrapped);
      return () => {
        set.delete(wrapped);
      };
    },
  };
}
