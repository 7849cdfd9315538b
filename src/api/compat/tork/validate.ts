/**
 * Tork's input validation (tork.md §5.2; `input/validate.go`), as go-playground/validator runs it
 * over the structs of input.ts: fields in declaration order, the tags of a field in order up to
 * the first that fails, nested structs after their field's tags, `dive` into slice elements, and
 * struct-level rules (composite tasks, mounts, permissions) after a struct's fields. Each problem
 * is one line of validator text:
 *
 *   Key: 'Job.Tasks[0].Name' Error:Field validation for 'Name' failed on the 'required' tag
 *
 * The lines are joined with `\n`, as `ValidationErrors.Error()` joins them.
 */
import { parseCron } from '../../../core/cron.js';
import { parseDuration } from '../../../core/duration.js';
import { checkExpression } from '../../../core/expr.js';
import { isTaskQueue, type GoField, type GoStruct, type GoType } from './input.js';

/** Facts the validator asks the store about (Tork's Permission rule looks users and roles up). */
export interface ValidationLookups {
  userExists(name: string): boolean;
  roleExists(slug: string): boolean;
}

const MOUNT_PATTERN = /^[-/.0-9a-zA-Z_/= ]+$/;

type Obj = Record<string, unknown>;

class Report {
  readonly lines: string[] = [];

  constructor(readonly lookups: ValidationLookups) {}

  fail(namespace: string, field: string, tag: string): void {
    this.lines.push(`Key: '${namespace}' Error:Field validation for '${field}' failed on the '${tag}' tag`);
  }
}

/** Validates a decoded body; returns validator lines (none when valid). */
export function validateInput(input: Obj, root: GoStruct, lookups: ValidationLookups): string[] {
  const report = new Report(lookups);
  validateStruct(input, root, `${root.name}.`, report);
  return report.lines;
}

function validateStruct(value: Obj, struct: GoStruct, namespace: string, report: Report): void {
  for (const field of struct.fields) validateField(value[field.key], field, `${namespace}${field.go}`, report);
  STRUCT_RULES[struct.name]?.(value, namespace, report);
}

function validateField(value: unknown, field: GoField, namespace: string, report: Report): void {
  for (const tag of field.validate ?? []) {
    if (tag === 'dive') {
      if (Array.isArray(value) && field.type.kind === 'slice') diveInto(value, field.type.of, namespace, report);
      return;
    }
    if (!passes(tag, value, field.type)) {
      report.fail(namespace, field.go, tag.split('=')[0]);
      return;
    }
  }
  if (field.type.kind === 'struct' && (value !== undefined || !field.type.pointer)) {
    validateStruct((value as Obj | undefined) ?? {}, field.type.struct(), `${namespace}.`, report);
  }
}

function diveInto(items: unknown[], type: GoType, namespace: string, report: Report): void {
  if (type.kind !== 'struct') return;
  items.forEach((item, i) => validateStruct((item as Obj | undefined) ?? {}, type.struct(), `${namespace}[${i}].`, report));
}

// ---- tags -----------------------------------------------------------------------------------------

function sizeOf(value: unknown, type: GoType): number {
  if (type.kind === 'string') return Array.from((value as string | undefined) ?? '').length;
  if (type.kind === 'int') return (value as number | undefined) ?? 0;
  if (Array.isArray(value)) return value.length;
  if (value && typeof value === 'object') return Object.keys(value).length;
  return 0;
}

function isPresent(value: unknown, type: GoType): boolean {
  if (type.kind === 'string') return typeof value === 'string' && value !== '';
  if (type.kind === 'int') return typeof value === 'number' && value !== 0;
  if (type.kind === 'bool') return value === true;
  return value !== undefined;
}

function passes(tag: string, value: unknown, type: GoType): boolean {
  const [name, parameter] = tag.split('=');
  const text = typeof value === 'string' ? value : '';
  switch (name) {
    case 'required':
      return isPresent(value, type);
    case 'min':
      return sizeOf(value, type) >= Number(parameter);
    case 'max':
      return sizeOf(value, type) <= Number(parameter);
    case 'duration':
      return text === '' || isGoDuration(text);
    case 'queue':
      return text === '' || isTaskQueue(text);
    case 'expr':
      return text === '' || isTorkExpression(text);
    case 'cron':
      return isCron(text);
    default:
      throw new Error(`unknown validate tag ${tag}`);
  }
}

/** Tork's `eval.ValidExpr`: the first `{{ … }}` in the text if there is one, else the whole text. */
const FIRST_PLACEHOLDER = /\{\{\s*(.+?)\s*\}\}/;

function isTorkExpression(text: string): boolean {
  const inner = FIRST_PLACEHOLDER.exec(text)?.[1] ?? text;
  return checkExpression(inner) === null;
}

function isGoDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

function isCron(text: string): boolean {
  try {
    parseCron(text);
    return true;
  } catch {
    return false;
  }
}

// ---- struct-level rules -----------------------------------------------------------------------

const STRUCT_RULES: Record<string, (value: Obj, namespace: string, report: Report) => void> = {
  Task: checkTask,
  Mount: checkMount,
  Permission: checkPermission,
};

/** Set as Go's checks see it: a non-empty string or slice, a non-nil pointer. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === '') return false;
  return !Array.isArray(value) || value.length > 0;
}

/** What a composite task (parallel, each, subjob) may not also set: it runs nothing itself. */
const NOT_ON_COMPOSITES = ['image', 'cmd', 'entrypoint', 'run', 'env', 'queue', 'pre', 'post', 'mounts', 'retry', 'limits', 'timeout'];

function checkTask(task: Obj, namespace: string, report: Report): void {
  const has = (key: string): boolean => task[key] !== undefined;
  const clash = (a: string, b: string, tag: string): void => {
    report.fail(`${namespace}${a}`, a, tag);
    report.fail(`${namespace}${b}`, b, tag);
  };
  if (has('parallel') && has('each')) clash('each', 'parallel', 'paralleloreach');
  if (has('parallel') && has('subjob')) clash('subjob', 'parallel', 'parallelorsubjob');
  if (has('each') && has('subjob')) clash('subjob', 'each', 'eachorsubjob');
  if (!has('parallel') && !has('each') && !has('subjob')) return;
  const env = task.env as Obj | undefined;
  for (const key of NOT_ON_COMPOSITES) {
    const set = key === 'env' ? env !== undefined && Object.keys(env).length > 0 : isSet(task[key]);
    if (set) report.fail(`${namespace}${key}`, key, 'invalidcompositetask');
  }
}

/** Tork reports the first broken mount rule only (an else-if chain). */
function checkMount(mount: Obj, namespace: string, report: Report): void {
  const type = (mount.type as string | undefined) ?? '';
  const source = (mount.source as string | undefined) ?? '';
  const target = (mount.target as string | undefined) ?? '';
  let tag: string | null = null;
  if (type === '') tag = 'typerequired';
  else if (type === 'volume' && source !== '') tag = 'sourcenotempty';
  else if (type === 'volume' && target === '') tag = 'targetrequired';
  else if (type === 'bind' && source === '') tag = 'sourcerequired';
  else if (source !== '' && !MOUNT_PATTERN.test(source)) tag = 'invalidsource';
  else if (target !== '' && !MOUNT_PATTERN.test(target)) tag = 'invalidtarget';
  else if (target === '/tork') tag = 'invalidtarget';
  if (tag) report.fail(`${namespace}mount`, 'mount', tag);
}

function checkPermission(permission: Obj, namespace: string, report: Report): void {
  const user = (permission.user as string | undefined) ?? '';
  const role = (permission.role as string | undefined) ?? '';
  if ((user === '') === (role === '')) report.fail(`${namespace}perm`, 'perm', 'roleoruser');
  if (user !== '' && !report.lookups.userExists(user)) report.fail(`${namespace}perm`, 'perm', 'invalidusername');
  if (role !== '' && !report.lookups.roleExists(role)) report.fail(`${namespace}perm`, 'perm', 'invalidrole');
}

/** The user names a body's permissions refer to, so the caller can look them up first. */
export function permissionUsers(input: { permissions?: Array<{ user?: string }> }): string[] {
  return [...new Set((input.permissions ?? []).map((p) => p.user ?? '').filter((name) => name !== ''))];
}
