// Generates docs/crd-reference.md from the CRDs that scripts/generate-crds.ts
// builds (and so from the TypeBox schemas in src/api/v1alpha1): every field
// with its type, default, constraints and description, and the CEL rules with
// their messages. Run: npm run generate:docs. test/gitops/crd-reference.test.ts
// fails when the committed file differs from this output.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCrds } from './generate-crds.ts';

interface Schema {
  description?: string;
  type?: string;
  format?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message: string; fieldPath?: string }[];
}

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: {
      name: string;
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

interface Row {
  path: string;
  schema: Schema;
  required: boolean;
}

interface Rule {
  path: string;
  rule: string;
  message: string;
  fieldPath?: string;
}

/** Text for a Markdown table cell. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string) => `\`${cell(s)}\``;
/** Prose for a cell: < and > would read as HTML. */
const prose = (s: string) => cell(s).replace(/</g, '&lt;').replace(/>/g, '&gt;');
const json = (v: unknown) => JSON.stringify(v);

function typeOf(s: Schema): string {
  if (s['x-kubernetes-preserve-unknown-fields'] && s.type === 'object' && !s.properties)
    return 'object (any JSON)';
  if (s.type === 'array' && s.items) return `[]${typeOf(s.items)}`;
  if (s.type === 'object' && typeof s.additionalProperties === 'object') {
    return `map[string]${typeOf(s.additionalProperties)}`;
  }
  return s.format ? `${s.type} (${s.format})` : (s.type ?? 'any');
}

function constraints(s: Schema): string[] {
  const out: string[] = [];
  if (s.enum) out.push(`one of ${s.enum.map((v) => code(String(v))).join(', ')}`);
  if (s.pattern !== undefined) out.push(`pattern ${code(s.pattern)}`);
  if (s.minLength !== undefined || s.maxLength !== undefined) {
    out.push(`length ${s.minLength ?? 0}..${s.maxLength ?? '∞'}`);
  }
  if (s.minimum !== undefined || s.maximum !== undefined)
    out.push(`${s.minimum ?? '-∞'}..${s.maximum ?? '∞'}`);
  if (s.minItems !== undefined || s.maxItems !== undefined)
    out.push(`items ${s.minItems ?? 0}..${s.maxItems ?? '∞'}`);
  if (s.maxProperties !== undefined) out.push(`at most ${s.maxProperties} entries`);
  if (s['x-kubernetes-list-type']) {
    const keys = s['x-kubernetes-list-map-keys'];
    out.push(`list type ${s['x-kubernetes-list-type']}${keys ? ` (keys ${keys.join(', ')})` : ''}`);
  }
  return out;
}

/** Depth-first: a field, then its children; array items and map values use [] and {}. */
function walk(s: Schema, path: string, required: boolean, rows: Row[], rules: Rule[]): void {
  rows.push({ path, schema: s, required });
  for (const r of s['x-kubernetes-validations'] ?? []) rules.push({ path, ...r });
  const req = new Set(s.required ?? []);
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    walk(child, `${path}.${name}`, req.has(name), rows, rules);
  }
  if (s.items) {
    const item = s.items;
    if (item.properties || item['x-kubernetes-validations']) {
      for (const r of item['x-kubernetes-validations'] ?? []) rules.push({ path: `${path}[]`, ...r });
      const itemReq = new Set(item.required ?? []);
      for (const [name, child] of Object.entries(item.properties ?? {})) {
        walk(child, `${path}[].${name}`, itemReq.has(name), rows, rules);
      }
    }
  }
  if (typeof s.additionalProperties === 'object' && s.additionalProperties.properties) {
    walk(s.additionalProperties, `${path}{}`, false, rows, rules);
  }
}

function table(rows: Row[]): string[] {
  const out = [
    '| field | type | required | default | constraints | description |',
    '|---|---|---|---|---|---|',
  ];
  for (const { path, schema, required } of rows) {
    const itemDescription =
      schema.items?.description && schema.items.description !== schema.description
        ? ` Each item: ${schema.items.description}`
        : '';
    const itemConstraints =
      schema.items && !schema.items.properties ? constraints(schema.items).map((c) => `items: ${c}`) : [];
    const values =
      typeof schema.additionalProperties === 'object' && !schema.additionalProperties.properties
        ? constraints(schema.additionalProperties).map((c) => `values: ${c}`)
        : [];
    out.push(
      `| ${code(path)} | ${cell(typeOf(schema))} | ${required ? 'yes' : ''} | ${
        schema.default !== undefined ? code(json(schema.default)) : ''
      } | ${[...constraints(schema), ...itemConstraints, ...values].join('; ')} | ${prose((schema.description ?? '') + itemDescription)} |`,
    );
  }
  return out;
}

function section(crd: Crd): string[] {
  const { names, group, scope } = crd.spec;
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema;
  const out: string[] = [
    `## ${names.kind}`,
    '',
    `\`${group}/${version.name}\`, ${scope.toLowerCase()}; plural \`${names.plural}\`, short names ${(
      names.shortNames ?? []
    )
      .map((n) => `\`${n}\``)
      .join(', ')}, categories ${(names.categories ?? []).map((c) => `\`${c}\``).join(', ')}.`,
    '',
    prose(root.description ?? ''),
    '',
  ];
  const columns = version.additionalPrinterColumns ?? [];
  if (columns.length) {
    out.push(
      `\`kubectl get ${names.plural}\` columns (\`-o wide\` adds those with priority 1):`,
      '',
      '| column | type | from | priority |',
      '|---|---|---|---|',
    );
    for (const c of columns) out.push(`| ${c.name} | ${c.type} | ${code(c.jsonPath)} | ${c.priority ?? 0} |`);
    out.push('');
  }
  const rules: Rule[] = [];
  for (const r of root['x-kubernetes-validations'] ?? []) rules.push({ path: '(object)', ...r });
  for (const part of ['spec', 'status'] as const) {
    const schema = root.properties?.[part];
    if (!schema) continue;
    const rows: Row[] = [];
    walk(schema, part, (root.required ?? []).includes(part), rows, rules);
    out.push(`### ${names.kind} ${part}`, '', ...table(rows), '');
  }
  if (rules.length) {
    out.push(
      `### ${names.kind} validation rules (CEL)`,
      '',
      'Checked by the API server at create and update; a failing rule refuses the request with its message.',
      '`oldSelf` rules (transition rules) run on updates only.',
      '',
      '| on | rule | message | reported at |',
      '|---|---|---|---|',
    );
    for (const r of rules) {
      out.push(
        `| ${code(r.path)} | ${code(r.rule)} | ${prose(r.message)} | ${r.fieldPath ? code(r.fieldPath) : ''} |`,
      );
    }
    out.push('');
  }
  return out;
}

export function renderCrdDocs(): string {
  const crds = [...buildCrds().values()] as unknown as Crd[];
  const lines = [
    '<!-- Generated by scripts/generate-crd-docs.ts from src/api/v1alpha1 (npm run generate:docs); do not edit. -->',
    '',
    '# CRD reference',
    '',
    'Every field of the `gitlab-aws.io/v1alpha1` kinds, from the same schemas as `crds/`.',
    'Paths use `[]` for the items of a list and `{}` for the values of a map.',
    '',
    ...crds.map((c) => `- [${c.spec.names.kind}](#${c.spec.names.kind.toLowerCase()})`),
    '',
  ];
  for (const crd of crds) lines.push(...section(crd));
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

if (import.meta.main) {
  const file = join(import.meta.dirname, '..', 'docs', 'crd-reference.md');
  writeFileSync(file, renderCrdDocs());
  console.log('wrote docs/crd-reference.md');
}
