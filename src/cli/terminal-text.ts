/**
 * What a terminal would act on rather than show: C0 and C1 controls (an ESC starts a sequence that can clear the
 * screen or retitle the window, a CR rewrites the line), Unicode's line and paragraph separators, and the bidi
 * overrides that make text read in another order than it runs. Tabs and line feeds are left to the callers.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** User text on one line of output: every unsafe character and line break is shown as its escape, e.g. \u001b. */
export function visible(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/\n/g, '\\n');
}

/**
 * User text that may run over lines: each line after the first starts with `indent`, so no line of it can pass for
 * one of ours (a second "History:" block, say), and unsafe characters are escaped as in visible().
 */
export function indented(text: string, indent: string): string {
  return text
    .split('\n')
    .map((line) => visible(line))
    .join(`\n${indent}`);
}
