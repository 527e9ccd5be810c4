import { render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ImportPreview } from './ImportPreview.js';
import { useRun } from './state.js';

afterEach(() => useRun.setState({ summary: null }));

describe('ImportPreview', () => {
  it('counts every rejected row, not only the first ones the backend lists', () => {
    const rejected = Array.from({ length: 1000 }, (_, i) => ({ line: i + 3, reason: 'image_url: not a valid URL: nope', raw: `bad${i},nope` }));
    useRun.setState({ summary: { batchId: 'b', source: 'big.csv', accepted: 1, preview: [{ creativeId: 'good', imageUrl: 'https://x.test/a.png' }], rejected, rejectedTotal: 5000, columns: ['creative_id', 'image_url'] } });
    render(<ImportPreview />);
    expect(screen.getByText(/5,000 rejected/)).toBeTruthy();
    const list = screen.getByRole('list', { name: 'Rejected rows' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(200);
    expect(screen.getByText('… and 4,800 more')).toBeTruthy();
  });
});
