/**
 * Whether a promise settles successfully within a bound: for a wait that must not hang a start-up or an
 * operator command on a service that may be down (the invalidation bus at start, its announcement).
 */

/** True when `promise` resolves within `ms`; false when it rejects or is still pending then. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
