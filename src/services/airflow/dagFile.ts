/**
 * Where a Python file defines DAGs, for the CodeLens above each: `DAG(dag_id="x")`, `DAG("x")`,
 * `with DAG(...)` and `@dag` functions (whose id is the function's name unless dag_id says). A
 * heuristic on the text (the file is not run); no `vscode` import.
 */
export interface DagDefinition {
  dagId: string;
  /** 0-based line of the definition */
  line: number;
}

const DAG_CALL = /\bDAG\s*\(\s*(?:dag_id\s*=\s*)?["']([\w.-]+)["']/g;
const DAG_ID_KW = /\bDAG\s*\([^)]*?\bdag_id\s*=\s*["']([\w.-]+)["']/gs;
const DAG_DECORATOR = /^[ \t]*@dag\b(\s*\(([^)]*)\))?\s*\n\s*def\s+(\w+)/gm;

/** 0-based line of a character index. */
export function lineOf(text: string, index: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export function findDagDefinitions(text: string): DagDefinition[] {
  if (!/\bairflow\b/.test(text)) return [];
  const found = new Map<string, DagDefinition>();
  const add = (dagId: string, index: number) => {
    if (!found.has(dagId)) found.set(dagId, { dagId, line: lineOf(text, index) });
  };
  for (const m of text.matchAll(DAG_CALL)) add(m[1], m.index ?? 0);
  for (const m of text.matchAll(DAG_ID_KW)) add(m[1], m.index ?? 0);
  for (const m of text.matchAll(DAG_DECORATOR)) {
    const explicit = /\bdag_id\s*=\s*["']([\w.-]+)["']/.exec(m[2] ?? '')?.[1];
    add(explicit ?? m[3], m.index ?? 0);
  }
  return [...found.values()].sort((a, b) => a.line - b.line);
}

export interface TaskDefinition {
  taskId: string;
  /** the DAG the task is defined in: the nearest DAG defined above it, else the file's first */
  dagId: string;
  /** 0-based line of the definition */
  line: number;
}

const TASK_ID_KW = /\btask_id\s*=\s*["']([\w.-]+)["']/g;
const TASK_DECORATOR = /^[ \t]*@task\b(?:\.\w+)*(\s*\(([^)]*)\))?\s*\n(?:[ \t]*@.*\n)*[ \t]*def\s+(\w+)/gm;

/** Where the file defines tasks (`task_id="x"` of an operator, `@task` functions), each with its DAG. */
export function findTaskDefinitions(text: string): TaskDefinition[] {
  const dags = findDagDefinitions(text);
  if (!dags.length) return [];
  const dagAt = (line: number) => [...dags].reverse().find((d) => d.line <= line)?.dagId ?? dags[0].dagId;
  const out: TaskDefinition[] = [];
  const seen = new Set<string>();
  const add = (taskId: string, index: number) => {
    const line = lineOf(text, index);
    const dagId = dagAt(line);
    if (seen.has(`${dagId}\u0000${taskId}`)) return;
    seen.add(`${dagId}\u0000${taskId}`);
    out.push({ taskId, dagId, line });
  };
  for (const m of text.matchAll(TASK_ID_KW)) add(m[1], m.index ?? 0);
  for (const m of text.matchAll(TASK_DECORATOR)) add(/\btask_id\s*=\s*["']([\w.-]+)["']/.exec(m[2] ?? '')?.[1] ?? m[3], m.index ?? 0);
  return out.sort((a, b) => a.line - b.line);
}
