/**
 * Browsers submit a textarea's line breaks as CRLF, API clients usually send LF. Stored
 * text uses LF only, so saving a form unchanged stores the same bytes (and records no
 * revision) whichever way the text first arrived.
 */
export function lf(text: string): string {
  return text.replace(/\r\n?/g, '\n')
}
