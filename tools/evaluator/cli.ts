/**
 * What the Node evaluator's commands (evaluate, bench:series, the load benchmark) share on the command line:
 * parsing with usage and --help, the model/data/output options, their checks, opening the model and writing --json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import type { LoadedModel } from '../../extension/src/inference/classifier';
import { loadModelFrom } from '../../extension/src/inference/node';

export type Backend = 'wasm' | 'cpu' | 'webgl';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O }>>['values'];

/** Options every command that runs a model over data takes (plus -h/--help). */
export const MODEL_DATA_OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  json: { type: 'string' },
  version: { type: 'string' },
  backend: { type: 'string' },
  batch: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The parsed options, or the exit status when there is nothing more to do: 0 after printing the usage for --help,
 * 1 after printing the parser's complaint and the usage.
 */
export function parseCommandLine<O extends Options>(
  command: string,
  usage: string,
  argv: string[],
  options: O,
): Values<O> | number {
  let values: Values<O>;
  try {
    ({ values } = parseArgs({ args: argv, options }));
  } catch (e) {
    console.error(`${command}: ${(e as Error).message}\n${usage}`);
    return 1;
  }
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    return 0;
  }
  return values;
}

/** Prints the argument problems with the usage; true when there were any (the command then exits 1). */
export function reportBadArguments(command: string, bad: string[], usage: string): boolean {
  if (!bad.length) return false;
  console.error(`${command}: ${bad.join('; ')}\n${usage}`);
  return true;
}

/** A problem with an optional positive-integer option (e.g. "--batch must be a positive integer"), or null. */
export function checkPositiveInteger(option: string, value: number | undefined): string | null {
  return value !== undefined && !(Number.isInteger(value) && value > 0) ? `${option} must be a positive integer` : null;
}

/** A problem with an optional option that takes one of a few words (e.g. "--backend must be wasm or cpu"), or null. */
export function checkChoice(option: string, value: string | undefined, choices: readonly string[]): string | null {
  if (!value || choices.includes(value)) return null;
  const words =
    choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}` : choices[0];
  return `${option} must be ${words}`;
}

export function resolveArg(p: string): string {
  // npm runs scripts from the package root; resolve relative paths against where the admin typed the command.
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

/** Checked before any work: the JSON file's folder exists and is writable, and the file is not a folder. */
export function checkOutputFile(file: string): string | null {
  const dir = path.dirname(file);
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return `--json ${file}: folder ${dir} does not exist`;
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    return `--json ${file}: folder ${dir} is not writable`;
  }
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) return `--json ${file} is a folder`;
  return null;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

export async function openModel(model: string, version?: string, backend?: Backend): Promise<LoadedModel> {
  const location = /^https?:\/\//i.test(model) ? model : resolveArg(model);
  return loadModelFrom(location, { version, backend: backend ?? 'wasm' });
}

/** openModel for a command: null after printing "<command>: model not loaded: <why>" (the command then exits 2). */
export async function openModelOrReport(
  command: string,
  model: string,
  version?: string,
  backend?: Backend,
): Promise<LoadedModel | null> {
  try {
    return await openModel(model, version, backend);
  } catch (e) {
    console.error(`${command}: model not loaded: ${(e as Error).message}`);
    return null;
  }
}
