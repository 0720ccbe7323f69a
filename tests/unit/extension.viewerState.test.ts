import {
  WAITING,
  modalityWarning,
  formatSeries,
  formatSlice,
  sameState,
  seriesFromDisplaySet,
  sliceInfo,
  type ViewerState,
} from '../../extension/src/viewerState';

describe('viewerState', () => {
  test('slices are numbered from 1 of n', () => {
    expect(formatSlice({ index: 0, count: 7 })).toBe('1 / 7');
    expect(formatSlice({ index: 6, count: 7 })).toBe('7 / 7');
  });

  test('sliceInfo rejects positions that do not exist', () => {
    expect(sliceInfo(3, 9)).toEqual({ index: 3, count: 9 });
    expect(sliceInfo(9, 9)).toBeNull();
    expect(sliceInfo(-1, 9)).toBeNull();
    expect(sliceInfo(0, 0)).toBeNull();
    expect(sliceInfo(1.5, 9)).toBeNull();
    expect(sliceInfo(undefined, 9)).toBeNull();
  });

  test('series label from an OHIF display set', () => {
    const s = seriesFromDisplaySet({ SeriesDescription: ' AX FSE T2 ', SeriesNumber: '6', Modality: 'MR' });
    expect(s).toEqual({ description: 'AX FSE T2', number: 6, modality: 'MR' });
    expect(formatSeries(s)).toBe('#6 AX FSE T2');
    expect(formatSeries(seriesFromDisplaySet({ Modality: 'MR' }))).toBe('(no description)');
    expect(seriesFromDisplaySet(undefined)).toBeNull();
    expect(formatSeries(null)).toBe('unknown series');
  });

  test('warns when the displayed series is not MR', () => {
    expect(modalityWarning({ description: 'x', number: 1, modality: 'MR' })).toBeNull();
    expect(modalityWarning({ description: 'x', number: 1, modality: '' })).toBeNull();
    expect(modalityWarning(null)).toBeNull();
    expect(modalityWarning({ description: 'x', number: 1, modality: 'CT' })).toBe(
      'Brain MRI classification needs an MR series; this series is CT',
    );
  });

  test('sameState tells a scroll or a series change from a re-render', () => {
    const series = { description: 'AX FSE T2', number: 6, modality: 'MR' };
    const a: ViewerState = { kind: 'showing', viewportId: 'vp', series, slice: { index: 2, count: 7 } };
    expect(sameState(a, { ...a, series: { ...series } })).toBe(true);
    expect(sameState(a, { ...a, slice: { index: 3, count: 7 } })).toBe(false);
    expect(sameState(a, { ...a, series: { ...series, number: 7 } })).toBe(false);
    expect(sameState(a, { ...a, viewportId: 'other' })).toBe(false);
    expect(sameState(a, WAITING)).toBe(false);
    expect(sameState(WAITING, { kind: 'waiting' })).toBe(true);
    expect(sameState({ kind: 'empty', viewportId: 'vp' }, { kind: 'empty', viewportId: 'vp' })).toBe(true);
  });
});
