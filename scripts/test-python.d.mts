// Types of test-python.mjs for the TypeScript scripts and test set-ups that reuse it.
export declare const VENV: string;
export declare const VENV_PYTHON: string;
/** Runs setup_venv.py into VENV (idempotent); throws when it fails. */
export declare function ensurePythonVenv(): void;
export declare function runPytest(junitFile: string): number;
