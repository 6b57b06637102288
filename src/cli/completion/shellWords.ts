// Quoting for the generated completion scripts.

/** One single-quoted shell word: safe in bash and zsh whatever it holds. */
export const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The first line of a description, without the parts zsh's _describe would misread. */
export const summary = (s: string): string => s.split('\n')[0]!.replace(/\s+/g, ' ').trim();
