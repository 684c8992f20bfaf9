/**
 * A stand-in for a port whose resource this function was not given: any call is a wiring bug
 * and fails loudly, naming the variable that is not set.
 */
export function unwired<T extends object>(variable: string): T {
  return new Proxy({} as T, {
    get: (_, method) => () => Promise.reject(new Error(`${variable} is not set: this function may not call ${String(method)}`)),
  });
}
