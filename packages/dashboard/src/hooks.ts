/** Loading data from the API into a component (loading, error, reload), and submitting a form (busy, error). */
import { type DependencyList, useCallback, useEffect, useRef, useState } from 'react';

function asError(caught: unknown): Error {
  return caught instanceof Error ? caught : new Error(String(caught));
}

export interface Resource<T> {
  data: T | null;
  error: Error | null;
  loading: boolean;
  reload: () => void;
}

export function useResource<T>(load: () => Promise<T>, deps: DependencyList): Resource<T> {
  const [state, setState] = useState<{ data: T | null; error: Error | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [version, setVersion] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to reload.
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true, error: null }));
    loadRef.current().then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error: unknown) =>
        current &&
        setState({
          data: null,
          error: error instanceof Error ? error : new Error(String(error)),
          loading: false,
        }),
    );
    return () => {
      current = false;
    };
  }, [...deps, version]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { ...state, reload };
}

export interface Submission {
  /** While the action runs: disable the form and refuse to close the dialog. */
  busy: boolean;
  /** The last failure, for an ErrorNotice; cleared when the next run starts. */
  error: Error | null;
  /** Runs the action; true when it succeeded. A failure is kept as `error`, not thrown. */
  run: (action: () => Promise<void>) => Promise<boolean>;
  clearError: () => void;
}

/** What every dialog's submit does around its own request: busy while it runs, the error if it fails. */
export function useSubmit(): Submission {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(asError(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const clearError = useCallback(() => setError(null), []);
  return { busy, error, run, clearError };
}
