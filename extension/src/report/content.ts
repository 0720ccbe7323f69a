/** Naturalised SR content items (dcmjs's shape), and reading them back. */
import type { Code } from './codes';

export type Item = Record<string, unknown> & {
  ValueType: string;
  ConceptNameCodeSequence?: Code[];
  ContentSequence?: Item[];
};

type Rel = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'INFERRED FROM';

const code = (x: Code): Code => ({
  CodeValue: x.CodeValue,
  CodingSchemeDesignator: x.CodingSchemeDesignator,
  CodeMeaning: x.CodeMeaning,
});

export function container(rel: Rel | null, name: Code, children: Item[]): Item {
  const item: Item = { ValueType: 'CONTAINER', ConceptNameCodeSequence: [code(name)], ContinuityOfContent: 'SEPARATE' };
  // Content Sequence is type 1C: present with items, or absent (an empty one is an error)
  if (children.length) item.ContentSequence = children;
  if (rel) item.RelationshipType = rel;
  return item;
}

export function codeItem(rel: Rel, name: Code, value: Code, children?: Item[]): Item {
  const item: Item = {
    RelationshipType: rel,
    ValueType: 'CODE',
    ConceptNameCodeSequence: [code(name)],
    ConceptCodeSequence: [code(value)],
  };
  if (children?.length) item.ContentSequence = children;
  return item;
}

/** UT holds up to 2^32-2 bytes; TextValue is UT. */
export function textItem(rel: Rel, name: Code, value: string): Item {
  return { RelationshipType: rel, ValueType: 'TEXT', ConceptNameCodeSequence: [code(name)], TextValue: value };
}

export function uidrefItem(rel: Rel, name: Code, uid: string): Item {
  return { RelationshipType: rel, ValueType: 'UIDREF', ConceptNameCodeSequence: [code(name)], UID: uid };
}

/**
 * A Decimal String (at most 16 characters) for x: the most significant digits that fit. Exact values go in
 * Floating Point Value (FD) next to it when `exact` is set.
 */
export function decimalString(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`not a finite number: ${x}`);
  for (let p = 16; p >= 1; p--) {
    const s = String(Number(x.toPrecision(p)));
    if (s.length <= 16) return s;
  }
  throw new Error(`cannot write ${x} as a decimal string`);
}

export function numItem(rel: Rel, name: Code, value: number, unit: Code, exact = false): Item {
  const mv: Record<string, unknown> = {
    MeasurementUnitsCodeSequence: [code(unit)],
    NumericValue: decimalString(value),
  };
  if (exact) mv.FloatingPointValue = value;
  return {
    RelationshipType: rel,
    ValueType: 'NUM',
    ConceptNameCodeSequence: [code(name)],
    MeasuredValueSequence: [mv],
  };
}

export function imageItem(
  rel: Rel,
  name: Code | null,
  sopClassUID: string,
  sopInstanceUID: string,
  frame?: number | null,
): Item {
  const ref: Record<string, unknown> = { ReferencedSOPClassUID: sopClassUID, ReferencedSOPInstanceUID: sopInstanceUID };
  if (frame != null) ref.ReferencedFrameNumber = String(frame);
  const item: Item = { RelationshipType: rel, ValueType: 'IMAGE', ReferencedSOPSequence: [ref] };
  if (name) item.ConceptNameCodeSequence = [code(name)];
  return item;
}

// ---- reading (tolerant: dcmjs gives a single-item sequence as an array, other producers may give an object) ----

export function seq<T = Record<string, unknown>>(v: unknown): T[] {
  if (v == null) return [];
  return (Array.isArray(v) ? v : [v]) as T[];
}

export function nameOf(item: Record<string, unknown>): Code | undefined {
  return seq<Code>(item.ConceptNameCodeSequence)[0];
}

export function is(item: Record<string, unknown>, c: Code): boolean {
  const n = nameOf(item);
  return !!n && n.CodeValue === c.CodeValue && n.CodingSchemeDesignator === c.CodingSchemeDesignator;
}

export function children(item: Record<string, unknown>): Item[] {
  return seq<Item>(item.ContentSequence);
}

export function find(item: Record<string, unknown>, c: Code, valueType?: string): Item | undefined {
  return children(item).find((x) => is(x, c) && (!valueType || x.ValueType === valueType));
}

export function findAll(item: Record<string, unknown>, c: Code, valueType?: string): Item[] {
  return children(item).filter((x) => is(x, c) && (!valueType || x.ValueType === valueType));
}

export function textOf(item: Item | undefined): string | undefined {
  if (!item) return undefined;
  const v = item.TextValue;
  return typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : v == null ? undefined : String(v);
}

export function codeOf(item: Item | undefined): Code | undefined {
  return item ? seq<Code>(item.ConceptCodeSequence)[0] : undefined;
}

/** The exact value (Floating Point Value) when present, else the Decimal String. */
export function numOf(item: Item | undefined): number | undefined {
  if (!item) return undefined;
  const mv = seq<Record<string, unknown>>(item.MeasuredValueSequence)[0];
  if (!mv) return undefined;
  const fpRaw = Array.isArray(mv.FloatingPointValue) ? mv.FloatingPointValue[0] : mv.FloatingPointValue;
  // DICOM JSON gives FD as a number; dcmjs's own denaturalised form gives it as a string
  const fp = typeof fpRaw === 'string' && fpRaw.trim() ? Number(fpRaw) : fpRaw;
  if (typeof fp === 'number' && Number.isFinite(fp)) return fp;
  const ds = Array.isArray(mv.NumericValue) ? mv.NumericValue[0] : mv.NumericValue;
  const n = typeof ds === 'number' ? ds : Number(String(ds ?? '').trim());
  return Number.isFinite(n) ? n : undefined;
}
