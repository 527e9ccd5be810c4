import { fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeVisionApi } from '../../test/fake-api.js';
import { renderWithApi } from '../../test/render.js';
import { ApiAccess } from './ApiAccess.js';

let api: FakeVisionApi;
afterEach(() => api.dispose());

describe('Local API card', () => {
  it('shows the address and the key file, and the key only when asked', async () => {
    ({ api } = renderWithApi(<ApiAccess />));
    expect(await screen.findByText('http://127.0.0.1:8765/v1')).toBeTruthy();
    expect(screen.getByText('/tmp/fake/api-key')).toBeTruthy();
    expect(screen.getByLabelText('API key').textContent).not.toContain('pv_fake');
    fireEvent.click(screen.getByRole('button', { name: 'Show key' }));
    expect(screen.getByLabelText('API key').textContent).toBe('pv_fake-key');
  });
});
