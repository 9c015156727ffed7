/**
 * Counts with their noun for human-readable output: `1 entry`, `2 entries`.
 *
 * @module
 */

/** `n` and the noun, singular for exactly 1; the plural is `pluralForm`, else -y → -ies, else +s. */
export function plural(n: number, singular: string, pluralForm?: string): string {
  const many = pluralForm ??
    (/[^aeiou]y$/.test(singular) ? singular.slice(0, -1) + "ies" : singular + "s");
  return `${n} ${n === 1 ? singular : many}`;
}
