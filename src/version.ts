declare const __NOETL_CONSOLE_VERSION__: string;

/** Injected at build time (build.mjs) and test time (vitest) from package.json. */
export const VERSION: string = __NOETL_CONSOLE_VERSION__;
