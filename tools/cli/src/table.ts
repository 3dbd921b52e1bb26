/**
 * Plain-text tables for admin output: a header row and left-aligned columns separated by two
 * spaces, the last column unpadded, so `awk '{print $1}'` and eyes both work.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** A list of node ids as kafka-topics prints them: `1,2,3`; empty as `-`. */
export function idList(ids: readonly number[]): string {
  return ids.length === 0 ? '-' : ids.join(',');
}
