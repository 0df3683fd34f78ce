/** Formats a count with the singular or plural noun: "1 file", "2 files". */
export function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
