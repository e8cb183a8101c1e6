// mlpipe/split's fractions: checked where a pipeline is validated (so a typo
// is an error before anything runs) and again by the action itself.
export const SPLIT_PARTS = ['train', 'validation', 'test'] as const;

export type Fractions = { readonly train: number; readonly validation?: number; readonly test?: number };

/** Why these fractions cannot split a file, or undefined when they can. */
export function fractionsProblem(fractions: Fractions): string | undefined {
  const shares = SPLIT_PARTS.map((p) => fractions[p] ?? 0);
  const sum = shares.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) <= 1e-9) return undefined;
  return `fractions must sum to 1; ${SPLIT_PARTS.map((p, i) => [p, shares[i]!] as const).filter(([, x]) => x > 0).map(([p, x]) => `${p} ${x}`).join(' + ')} = ${Number(sum.toFixed(6))}`;
}
