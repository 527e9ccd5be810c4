import { afterEach } from 'vitest';
import { cleanup, configure } from '@testing-library/react';

// findBy*/waitFor wait for what the UI does, not for how fast: their one-second default is a
// speed budget on a loaded CI machine. The test timeout stays the guard against a hang.
configure({ asyncUtilTimeout: 30_000 });

afterEach(() => cleanup());
