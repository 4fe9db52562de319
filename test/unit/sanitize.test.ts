/** safeText (src/sanitize.ts): text from the database can never drive the terminal. */
import { describe, expect, it } from 'vitest';
import { safeText } from '../../src/sanitize.js';

const ESC = '\u001b';

describe('safeText', () => {
  it('shows C0, DEL and C1 controls as visible escapes; newline, tab and CR by their letters', () => {
    expect(safeText(`a${ESC}[2Jb`)).toBe('a\\x1b[2Jb');
    expect(safeText('bell\u0007 nul\u0000 del\u007f c1\u009b')).toBe('bell\\x07 nul\\x00 del\\x7f c1\\x9b');
    expect(safeText('one\ntwo\tthree\rfour')).toBe('one\\ntwo\\tthree\\rfour');
  });

  it('shows bidi controls and non-characters as \\u escapes', () => {
    expect(safeText('invoice\u202egnp.exe\u202c')).toBe('invoice\\u202egnp.exe\\u202c');
    expect(safeText('\u2066x\u2069\u200e\u200f')).toBe('\\u2066x\\u2069\\u200e\\u200f');
    expect(safeText('\ufffe\uffff')).toBe('\\ufffe\\uffff');
  });

  it('keeps printable text, accents, CJK and astral characters as they are', () => {
    const text = 'etl/naïve 日本語 \u{1F600} "quoted" back\\slash';
    expect(safeText(text)).toBe(text);
  });

  it('turns lone surrogates into U+FFFD and keeps pairs', () => {
    expect(safeText('a\ud800b\udc00c')).toBe('a\ufffdb\ufffdc');
    expect(safeText('\ud83d\ude00')).toBe('\u{1F600}');
  });

  it('cuts at max characters with an ellipsis; null and undefined are empty; other values as strings', () => {
    expect(safeText('x'.repeat(600))).toBe(`${'x'.repeat(499)}…`);
    expect(safeText('abcdef', 4)).toBe('abc…');
    expect(safeText('abcd', 4)).toBe('abcd');
    expect(safeText(null)).toBe('');
    expect(safeText(undefined)).toBe('');
    expect(safeText(42)).toBe('42');
  });

  it('is idempotent: what it returns passes through unchanged', () => {
    const once = safeText(`p/${ESC}]8;;http://x/${ESC}\\y\u202e\n\u0085`, Infinity);
    expect(safeText(once, Infinity)).toBe(once);
  });
});
