/** @jest-environment jsdom */
// Issue 18 (the panel as a radiologist uses it): plain words, result card for slices and files, the model card,
// history rows (one per instance + frame + model version, naming series and slice, jumping there), keyboard rules.
import path from 'node:path';
import fs from 'node:fs';
import { className } from '../../extension/src/panel/labels';
import { ResultCard } from '../../extension/src/panel/ClassificationView';
import { HistoryView } from '../../extension/src/panel/HistoryView';
import { ModelCardView, inRangeText } from '../../extension/src/panel/ModelCardView';
import { keyNeededBy, panelKeyboardProps } from '../../extension/src/panel/PanelView';
import { mergeHistory, type HistoryEntry } from '../../extension/src/services/ClassificationService';
import type { Result } from '../../extension/src/engine/types';
import type { ModelCard } from '../../extension/src/inference/types';

const extensionDir = path.join(__dirname, '../../extension');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const React = require(require.resolve('react', { paths: [extensionDir] }));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createRoot } = require(require.resolve('react-dom/client', { paths: [extensionDir] }));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { act } = require(require.resolve('react', { paths: [extensionDir] }));
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function render(element: unknown): HTMLElement {
  const div = document.createElement('div');
  document.body.appendChild(div);
  const root = createRoot(div);
  act(() => root.render(element));
  return div;
}

const classes = ['glioma', 'meningioma', 'notumor', 'pituitary'];
const result = (over: Partial<Result> = {}): Result =>
  ({
    classes,
    probabilities: [0.05, 0.1, 0.8, 0.05],
    top: { index: 2, label: 'notumor', probability: 0.8 },
    modelVersion: 'v1',
    backend: 'wasm',
    ms: 111.30000000004657,
    outOfRange: null,
    ...over,
  }) as Result;

test('plain words for the classes', () => {
  expect(classes.map(className)).toEqual(['Glioma', 'Meningioma', 'No tumour', 'Pituitary tumour']);
});

test('result card: research line on top, four bars in plain words, technical details collapsed; declined: reason, no numbers', () => {
  const el = render(
    React.createElement(ResultCard, {
      classification: result(),
      testId: 'card',
      subject: 'a.png',
      thumbnail: 'blob:x',
    }),
  );
  const card = el.querySelector('[data-testid="card"]')!;
  expect(card.firstElementChild!.textContent).toBe('Research use only, not for diagnosis.');
  expect(card.querySelector('[data-testid="ssclnet-top"]')!.textContent).toBe('No tumour 80.0%');
  expect([...card.querySelectorAll('[data-testid="ssclnet-prob"]')].map((p) => p.getAttribute('data-class'))).toEqual(
    classes,
  );
  expect(card.textContent).not.toMatch(/notumor|wasm/); // raw names only inside the collapsed details' attributes
  expect((card.querySelector('details') as HTMLDetailsElement).open).toBe(false);
  expect(card.querySelector('[data-testid="ssclnet-thumbnail"]')!.getAttribute('src')).toBe('blob:x');
  const declined = render(
    React.createElement(ResultCard, {
      classification: result({ probabilities: [], outOfRange: { stage: 'metadata', reason: 'not an MR image' } }),
      testId: 'card',
    }),
  );
  expect(declined.querySelector('[data-testid="ssclnet-declined"]')!.textContent).toBe(
    "Outside the model's range: not an MR image",
  );
  expect(declined.querySelectorAll('[data-testid="ssclnet-prob"]')).toHaveLength(0);
});

test('model card view: intended use, limits, training data, in-range rule and metrics of the shipped card', () => {
  const card = JSON.parse(
    fs.readFileSync(path.join(__dirname, '../../models/2026.11.23-2/model-card.json'), 'utf8'),
  ) as ModelCard;
  const el = render(React.createElement(ModelCardView, { card }));
  const text = (id: string) => el.querySelector(`[data-testid="${id}"]`)!.textContent!;
  expect(text('ssclnet-card-intended-use')).toMatch(/not for diagnosis/);
  expect(el.querySelectorAll('[data-testid="ssclnet-card-limits"] li').length).toBe(
    card.limits ? (card.limits as string[]).length : 0,
  );
  expect(text('ssclnet-card-training')).toMatch(/train: 400 slices/);
  expect(text('ssclnet-card-metrics')).toMatch(/Accuracy 93\.6 %/);
  expect(text('ssclnet-card-metrics')).toMatch(/No tumour/);
  expect(
    inRangeText({
      ...card,
      in_range: {
        metadata: { modalities: ['MR'], max_angle_from_axial_deg: 30 },
        features: { method: 'mahalanobis-tied', layer: 'avgpool', dim: 512, file: 'x', threshold: 700.5 },
      },
    }).join(' '),
  ).toMatch(/modality MR; axial within 30°.*feature distance ≤ 700\.5/);
});

const entry = (sop: string, version: string, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  at: 't',
  source: 'slice',
  studyInstanceUID: 's',
  seriesInstanceUID: 'se',
  sopInstanceUID: sop,
  frame: 0,
  slice: 3,
  series: '#6 AX FSE T2',
  classes,
  probabilities: [0.05, 0.1, 0.8, 0.05],
  top: 'notumor',
  outOfRange: null,
  modelVersion: version,
  backend: 'wasm',
  ms: 1,
  ...over,
});

test('history: one row per instance + frame + model version (re-classifying updates it); rows name series and slice and jump there', () => {
  let h = mergeHistory([], [entry('a', 'v1'), entry('b', 'v1', { slice: 4 })]);
  h = mergeHistory(h, [entry('a', 'v1', { at: 't2' })]);
  expect(h.map((x) => `${x.sopInstanceUID}@${x.at}`)).toEqual(['a@t2', 'b@t']);
  h = mergeHistory(h, [entry('a', 'v2'), entry('a', 'v1', { frame: 1 })]);
  expect(h).toHaveLength(4);
  const many = Array.from({ length: 25 }, (_, i) => entry(`s${i}`, 'v1', { slice: i + 1 }));
  const ran: [string, unknown][] = [];
  const el = render(
    React.createElement(HistoryView, {
      history: many,
      run: (c: string, o: unknown) => {
        ran.push([c, o]);
      },
      currentVersion: 'v1',
    }),
  );
  const rows = [...el.querySelectorAll('[data-testid="ssclnet-history-row"]')] as HTMLButtonElement[];
  expect(rows).toHaveLength(25); // every row is there (the list scrolls in its own box)
  expect((el.querySelector('[data-testid="ssclnet-history-list"]') as HTMLElement).style.overflowY).toBe('auto');
  expect(rows[0].textContent).toBe('#6 AX FSE T2, slice 25: No tumour 80.0%');
  act(() => rows[3].click());
  expect(ran[0][0]).toBe('ssclnet.showHistoryEntry');
  expect((ran[0][1] as { entry: HistoryEntry }).entry.sopInstanceUID).toBe('s21');
});

test('keyboard: Enter/Space stay with a focused panel control, other keys go on to the host; a pointer click gives focus back', () => {
  const button = document.createElement('button');
  const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox' });
  const text = Object.assign(document.createElement('input'), { type: 'text' });
  expect(keyNeededBy(button, 'Enter')).toBe(true);
  expect(keyNeededBy(button, ' ')).toBe(true);
  expect(keyNeededBy(button, 'ArrowDown')).toBe(false);
  expect(keyNeededBy(button, 'k')).toBe(false);
  expect(keyNeededBy(checkbox, ' ')).toBe(true);
  expect(keyNeededBy(checkbox, 'ArrowUp')).toBe(false);
  expect(keyNeededBy(text, 'k')).toBe(true);
  expect(keyNeededBy(document.createElement('div'), 'Enter')).toBe(false);

  // In a real tree: the host's document listener sees ↓ but not Enter on a panel button; Enter toggles a checkbox.
  const seen: string[] = [];
  const onDoc = (e: KeyboardEvent) => seen.push(e.key);
  document.addEventListener('keydown', onDoc);
  let toggled = 0;
  const el = render(
    React.createElement(
      'div',
      panelKeyboardProps,
      React.createElement('button', { 'data-testid': 'b' }, 'b'),
      React.createElement('input', {
        type: 'checkbox',
        'data-testid': 'c',
        onChange: () => {
          toggled += 1;
        },
      }),
    ),
  );
  const b = el.querySelector('[data-testid="b"]') as HTMLButtonElement;
  const c = el.querySelector('[data-testid="c"]') as HTMLInputElement;
  act(() => {
    b.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  });
  act(() => {
    b.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
  });
  act(() => {
    c.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  });
  expect(seen).toEqual(['ArrowDown']);
  expect(toggled).toBe(1);
  document.removeEventListener('keydown', onDoc);

  jest.useFakeTimers();
  b.focus();
  expect(document.activeElement).toBe(b);
  act(() => {
    b.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 1 }));
  });
  // focus leaves at once: a key pressed before any timer runs must reach the host's hotkeys
  expect(document.activeElement).not.toBe(b);
  jest.runAllTimers();
  expect(document.activeElement).not.toBe(b);
  b.focus();
  act(() => {
    b.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 0 }));
  }); // keyboard activation
  jest.runAllTimers();
  expect(document.activeElement).toBe(b);
  jest.useRealTimers();
});
