// How many sentences a finding's message has, as a reader counts them in the Problems panel: code in backticks,
// quoted verifier messages and parenthesised asides are not split, nor is "e.g.". The issue asks for one or two.
export function sentences(message: string): number {
  const flat = message
    .replace(/`[^`]*`/g, 'X')
    .replace(/"[^"]*"/g, 'X')
    .replace(/\([^()]*\)/g, 'X')
    .replace(/\be\.g\./g, 'eg');
  return flat.trim().split(/(?<=[.!?])\s+(?=[A-Z`X0-9-])/).filter((s) => s.trim()).length;
}
