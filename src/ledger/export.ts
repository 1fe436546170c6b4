/**
 * `ledger export`: every entry, streamed in pages of sequence numbers (no read snapshot held across awaits), as
 * JSON (an array, one entry per line, with its leaf hash) or CSV. CSV cells that a spreadsheet would execute
 * (starting with = + - @, tab or carriage return) get a leading apostrophe; the JSON export is the lossless one.
 */
import type { Writable } from 'node:stream';
import type { Db } from './db.js';
import { leafHash } from './merkle.js';
import { leafText, ROW_COLUMNS, rowFromRaw, toEntry, type StoredRow } from './row.js';

export type ExportFormat = 'json' | 'csv';

const PAGE = 2000;
const CSV_HEADER = [...ROW_COLUMNS, 'leaf_hash'];

/** Neutralises a cell a spreadsheet would read as a formula (OWASP "CSV injection"), then quotes it if needed. */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(row: StoredRow, hash: string): string {
  return `${[...ROW_COLUMNS.map((c) => csvCell(row[c])), hash].join(',')}\r\n`;
}

function jsonLine(row: StoredRow, hash: string): string {
  return JSON.stringify({ ...toEntry(row), leafHash: hash });
}

function write(out: Writable, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes every entry to `out`; returns how many. */
export async function exportLedger(db: Db, format: ExportFormat, out: Writable): Promise<number> {
  const page = db.prepare<[number, number], unknown[]>(`SELECT ${ROW_COLUMNS.join(', ')} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?`).raw(true);
  let next = 0;
  let count = 0;
  await write(out, format === 'csv' ? `${CSV_HEADER.join(',')}\r\n` : '[');
  for (;;) {
    const rows = page.all(next, PAGE).map(rowFromRaw);
    if (rows.length === 0) break;
    let chunk = '';
    for (const row of rows) {
      const hash = leafHash(leafText(row)).toString('hex');
      chunk += format === 'csv' ? csvLine(row, hash) : `${count === 0 ? '\n' : ',\n'}${jsonLine(row, hash)}`;
      count++;
    }
    await write(out, chunk);
    next = rows[rows.length - 1]!.seq + 1;
  }
  if (format === 'json') await write(out, count === 0 ? ']\n' : '\n]\n');
  return count;
}
