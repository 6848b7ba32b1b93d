/**
 * Whole-string glob matching (policies' pool and volume patterns, price catalogue selectors): `*`
 * any run of characters, `?` one character, everything else itself. No regular expression is built
 * from user input, so a hostile pattern cannot hang a check.
 *
 * @module
 */

/** True when `pattern` holds a glob character. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** Whole-string, case-sensitive glob match. */
export function matchesGlob(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starN = n;
    } else if (pc !== undefined && (pc === '?' || pc === name[n])) {
      p++;
      n++;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
