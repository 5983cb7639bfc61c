// Every condition reason the operator can set, read from src/ with the
// TypeScript parser (not a regular expression), so that docs/troubleshooting.md
// can be held to it. A reason reaches a condition in one of these places:
//
// - the values of an object named REASONS (`export const REASONS = {...} as const`);
// - the reason argument of what writes a condition: `new TerminalError(reason, ...)`,
//   `new RetryableError(reason, ...)`, `new WaitError(ms, reason, ...)`, `wait(ms, reason, ...)`,
//   `done(reason, ...)`, and any `set(type, status, reason, message)` (the condition writer's
//   and summarize's);
// - a `reason` property or variable given a literal (`reason: 'NoPolicy'`,
//   `const reason = throttled ? 'AWSThrottled' : 'AWSUnavailable'`), and the literal types
//   of a `reason` property (`reason: 'NoPolicy' | 'PolicyViolation'`).
//
// An argument is resolved through literals, conditionals, `??`/`||`, `REASONS.x` and
// string constants declared anywhere in src/. What cannot be resolved is a value passed
// on (`err.reason`, a helper's `reason` parameter); those are returned as `forwarded`,
// so that a test can insist each is one it knows.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What a reason was handed to, where that is visible at the call. */
export type Sink = 'stalled' | 'retried' | 'waiting' | 'done' | 'condition';

export interface SourceReasons {
  /** reason → where it is set (file:line) */
  reasons: Map<string, string[]>;
  /** reason → what it was given to directly: TerminalError (stalled), RetryableError (retried), wait()/WaitError (waiting), done(), a condition's set() */
  sinks: Map<string, Set<Sink>>;
  /** reason arguments that only pass a reason on, as `file: expression` */
  forwarded: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Where the reason is among a call's arguments, by what is called, and what that call does with it. */
function reasonArgument(node: ts.CallExpression | ts.NewExpression): [ts.Expression, Sink] | undefined {
  const args = node.arguments ?? ts.factory.createNodeArray();
  const callee = node.expression;
  const name = ts.isIdentifier(callee)
    ? callee.text
    : ts.isPropertyAccessExpression(callee)
      ? callee.name.text
      : undefined;
  if (ts.isNewExpression(node)) {
    if (name === 'TerminalError' && args[0]) return [args[0], 'stalled'];
    if (name === 'RetryableError' && args[0]) return [args[0], 'retried'];
    if (name === 'WaitError' && args[1]) return [args[1], 'waiting'];
    return undefined;
  }
  if (name === 'wait' && ts.isIdentifier(callee) && args.length === 3) return [args[1]!, 'waiting'];
  if (name === 'done' && ts.isIdentifier(callee) && args[0]) return [args[0], 'done'];
  if (name === 'set' && args.length === 4) return [args[2]!, 'condition'];
  return undefined;
}

export function reasonsInSource(): SourceReasons {
  const files = sourceFiles(join(ROOT, 'src')).map((path) =>
    ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true),
  );
  const reasons = new Map<string, string[]>();
  const forwarded: string[] = [];
  const sinks = new Map<string, Set<Sink>>();
  const add = (reason: string, node: ts.Node) => {
    // '' is no reason: a fallback for a missing one (a metric label, `c.reason ?? ''`).
    if (reason === '') return;
    const sf = node.getSourceFile();
    const where = `${relative(ROOT, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    reasons.set(reason, [...(reasons.get(reason) ?? []), where]);
  };

  // String constants (`const X = 'Literal'`) and the REASONS objects, across src/.
  const constants = new Map<string, string>();
  const reasonObjects: ts.ObjectLiteralExpression[] = [];
  const visitDeclarations = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      let init = node.initializer;
      if (ts.isAsExpression(init)) init = init.expression;
      if (ts.isStringLiteralLike(init)) constants.set(node.name.text, init.text);
      if (node.name.text === 'REASONS' && ts.isObjectLiteralExpression(init)) reasonObjects.push(init);
    }
    ts.forEachChild(node, visitDeclarations);
  };
  for (const sf of files) visitDeclarations(sf);
  const reasonValues = new Map<string, string>();
  for (const object of reasonObjects) {
    for (const p of object.properties) {
      if (!ts.isPropertyAssignment(p) || !ts.isStringLiteralLike(p.initializer)) {
        throw new Error(
          `REASONS in ${object.getSourceFile().fileName}: ${p.getText()} is not "key: 'Literal'"`,
        );
      }
      add(p.initializer.text, p);
      reasonValues.set(p.name.getText(), p.initializer.text);
    }
  }

  /** The initializer of a `const` of that name declared in a block around the use. */
  const localInitializer = (id: ts.Identifier): ts.Expression | undefined => {
    for (let scope: ts.Node | undefined = id.parent; scope; scope = scope.parent) {
      if (!ts.isBlock(scope) && !ts.isSourceFile(scope)) continue;
      for (const statement of scope.statements) {
        if (!ts.isVariableStatement(statement) || statement.pos > id.pos) continue;
        if (!(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
        for (const d of statement.declarationList.declarations) {
          if (ts.isIdentifier(d.name) && d.name.text === id.text && d.initializer) return d.initializer;
        }
      }
    }
    return undefined;
  };

  /** The reasons an expression can be, or undefined when it passes one on. */
  const resolve = (e: ts.Expression): string[] | undefined => {
    if (ts.isStringLiteralLike(e)) return [e.text];
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e)) return resolve(e.expression);
    if (ts.isConditionalExpression(e)) {
      const a = resolve(e.whenTrue);
      const b = resolve(e.whenFalse);
      return a || b ? [...(a ?? []), ...(b ?? [])] : undefined;
    }
    if (
      ts.isBinaryExpression(e) &&
      (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
        e.operatorToken.kind === ts.SyntaxKind.BarBarToken)
    ) {
      const b = resolve(e.right);
      const a = resolve(e.left);
      return a || b ? [...(a ?? []), ...(b ?? [])] : undefined;
    }
    if (
      ts.isPropertyAccessExpression(e) &&
      ts.isIdentifier(e.expression) &&
      e.expression.text === 'REASONS'
    ) {
      const value = reasonValues.get(e.name.text);
      if (value === undefined) throw new Error(`REASONS.${e.name.text} is in no REASONS object`);
      return [value];
    }
    if (ts.isIdentifier(e)) {
      const local = localInitializer(e);
      if (local) return resolve(local);
      if (constants.has(e.text)) return [constants.get(e.text)!];
    }
    return undefined;
  };
  const partial = (e: ts.Expression, at: ts.Node, sink: Sink) => {
    // `a ?? 'Literal'`: the literal is a reason; the rest is forwarded.
    const found = resolve(e);
    for (const r of found ?? []) {
      add(r, at);
      sinks.set(r, (sinks.get(r) ?? new Set()).add(sink));
    }
    const whole = ts.isConditionalExpression(e) || ts.isBinaryExpression(e);
    const forwardedPart = (x: ts.Expression) => resolve(x) === undefined;
    if (!found || (whole && forwardedParts(e).some(forwardedPart))) {
      forwarded.push(
        `${relative(ROOT, at.getSourceFile().fileName)}: ${
          forwardedParts(e)
            .filter(forwardedPart)
            .map((x) => x.getText())
            .join(', ') || e.getText()
        }`,
      );
    }
  };
  const forwardedParts = (e: ts.Expression): ts.Expression[] => {
    if (ts.isParenthesizedExpression(e)) return forwardedParts(e.expression);
    if (ts.isConditionalExpression(e)) return [...forwardedParts(e.whenTrue), ...forwardedParts(e.whenFalse)];
    if (
      ts.isBinaryExpression(e) &&
      (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
        e.operatorToken.kind === ts.SyntaxKind.BarBarToken)
    ) {
      return [...forwardedParts(e.left), ...forwardedParts(e.right)];
    }
    return [e];
  };

  const isReasonName = (n: ts.Node) => (ts.isIdentifier(n) || ts.isStringLiteral(n)) && n.text === 'reason';
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const arg = reasonArgument(node);
      if (arg) partial(arg[0], arg[0], arg[1]);
    } else if (ts.isPropertyAssignment(node) && isReasonName(node.name)) {
      // A literal given to a `reason` property; other values are read from elsewhere.
      const found = resolve(node.initializer);
      for (const r of found ?? []) add(r, node);
    } else if (ts.isVariableDeclaration(node) && isReasonName(node.name) && node.initializer) {
      for (const r of resolve(node.initializer) ?? []) add(r, node);
    } else if (ts.isPropertySignature(node) && isReasonName(node.name) && node.type) {
      const literals = ts.isUnionTypeNode(node.type) ? node.type.types : [node.type];
      for (const t of literals) {
        if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) add(t.literal.text, t);
      }
    }
    ts.forEachChild(node, visit);
  };
  for (const sf of files) visit(sf);
  return { reasons, sinks, forwarded };
}
