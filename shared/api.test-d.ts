import { describe, expectTypeOf, it } from 'vitest';
import type { CommandName, CommandResponse, EventName, VisionApi, VisionHandlers } from './api.js';
import type { Backend } from '../electron/core/app/backend.js';
import type { ServiceInfo } from './domain.js';

describe('VisionApi contract, at the type level', () => {
  it('the main-side handlers cover every channel and no other', () => {
    type Handled = keyof Backend['handlers'];
    expectTypeOf<Exclude<CommandName, Handled>>().toEqualTypeOf<never>();
    expectTypeOf<Exclude<Handled, CommandName>>().toEqualTypeOf<never>();
    expectTypeOf<keyof VisionHandlers>().toEqualTypeOf<CommandName>();
  });

  it('the renderer client reaches every channel with typed requests and replies', () => {
    expectTypeOf<Parameters<VisionApi['invoke']>[0]>().toEqualTypeOf<CommandName>();
    expectTypeOf<Parameters<VisionApi['on']>[0]>().toEqualTypeOf<EventName>();
    expectTypeOf<CommandResponse<'services.list'>>().toEqualTypeOf<ServiceInfo[]>();
    const api = {} as VisionApi;
    // @ts-expect-error an unknown channel is a compile error
    void api.invoke('services.explode', {});
    // @ts-expect-error a wrong payload is a compile error
    void api.invoke('services.start', { name: 42 });
  });
});
