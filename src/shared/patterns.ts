/** Flags a source's `pattern` is compiled with, by the config check and by the filters alike. */
export const PATTERN_FLAGS = 'u';
