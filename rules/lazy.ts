// Fields of a rule's targets that are known only once its configs are evaluated. Configs are
// evaluated in batches (one Python process for every experiment declared so far), so the rule
// returns its targets at once and fills these fields on first read: by the time sbuild (or the
// config's own code) reads one, every experiment of the config has asked for its config.
/** Defines `keys` on `obj` as enumerable getters over `compute()`, which runs once. */
export function lazyFields<T extends object, K extends keyof T>(obj: T, keys: readonly K[], compute: () => Pick<T, K>): T {
  let done: Pick<T, K> | undefined;
  const get = (): Pick<T, K> => (done ??= compute());
  for (const k of keys) {
    Object.defineProperty(obj, k, {
      enumerable: true,
      configurable: true,
      get: () => get()[k],
      set: (v: T[K]) => {
        // A config that overrides a field (spreads the target and sets it) keeps its value.
        Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
      },
    });
  }
  return obj;
}
