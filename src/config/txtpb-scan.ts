/**
 * A position-keeping scan of protobuf text format into a tree of field occurrences.
 * protobuf-es's `fromText` is the real parser; it reports no line numbers, so this scan exists
 * only to point an error at a line and a field path. It is deliberately lenient about values.
 */

/** One value of a field occurrence: a `{…}` block or a scalar token run. */
export interface TxtValue {
  kind: 'msg' | 'scalar';
  start: number;
  end: number;
  line: number;
  /** Fields inside a `{…}` / `<…>` block. */
  fields?: TxtField[];
}

/** One occurrence of `name[:] value` or `name[:] [v, …]` in the text. */
export interface TxtField {
  name: string;
  line: number;
  /** Offsets of the whole occurrence, name through value, for re-parsing in isolation. */
  start: number;
  end: number;
  values: TxtValue[];
  /** Written with `[ … ]` list syntax. */
  list: boolean;
}

/** A syntax problem the scan found, with the field path it was inside. */
export interface TxtSyntaxIssue {
  line: number;
  field: string;
  message: string;
}

interface Token {
  t: 'id' | 'str' | 'num' | 'punct' | 'eof';
  v: string;
  start: number;
  end: number;
  line: number;
}

class Issue extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** Splits text into tokens, tracking lines; comments and whitespace are dropped. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '"' || c === "'") {
      const start = i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\n') throw new Issue(line, 'newline inside a string');
        i += text[i] === '\\' ? 2 : 1;
      }
      if (i >= text.length) throw new Issue(line, 'unterminated string');
      out.push({ t: 'str', v: text.slice(start, ++i), start, end: i, line });
    } else {
      const m = /^(?:[A-Za-z_][\w.]*|[0-9.][\w.]*(?:[eE][+-]?\d+)?|[{}<>[\]:,;-])/.exec(text.slice(i, i + 256));
      if (!m) throw new Issue(line, `unexpected character '${c}'`);
      const v = m[0];
      const t = /^[{}<>[\]:,;-]$/.test(v) ? 'punct' : /^[A-Za-z_]/.test(v) ? 'id' : 'num';
      out.push({ t, v, start: i, end: i + v.length, line });
      i += v.length;
    }
  }
  out.push({ t: 'eof', v: '', start: text.length, end: text.length, line });
  return out;
}

const CLOSE: Record<string, string> = { '{': '}', '<': '>' };

class Scanner {
  private pos = 0;
  readonly path: string[] = [];
  constructor(private readonly toks: Token[]) {}

  peek(): Token {
    return this.toks[this.pos]!;
  }
  next(): Token {
    return this.toks[this.pos++]!;
  }
  eat(v: string): boolean {
    if (this.peek().t === 'punct' && this.peek().v === v) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Fields until `close` (or end of input at top level). */
  fields(close: string | null): TxtField[] {
    const out: TxtField[] = [];
    for (;;) {
      const tok = this.peek();
      if (tok.t === 'eof') {
        if (close === null) return out;
        throw new Issue(tok.line, `unexpected end of input, expected "${close}"`);
      }
      if (close !== null && this.eat(close)) return out;
      out.push(this.field());
    }
  }

  private field(): TxtField {
    const nameTok = this.next();
    if (nameTok.t !== 'id') throw new Issue(nameTok.line, `expected a field name, got "${nameTok.v}"`);
    this.path.push(nameTok.v);
    this.eat(':');
    const values: TxtValue[] = [];
    let list = false;
    if (this.eat('[')) {
      list = true;
      if (!this.eat(']')) {
        do values.push(this.value());
        while (this.eat(','));
        if (!this.eat(']')) throw new Issue(this.peek().line, `expected "]" after the list of "${nameTok.v}"`);
      }
    } else values.push(this.value());
    const end = this.toks[this.pos - 1]!.end;
    if (!this.eat(',')) this.eat(';');
    this.path.pop();
    return { name: nameTok.v, line: nameTok.line, start: nameTok.start, end, values, list };
  }

  private value(): TxtValue {
    const tok = this.peek();
    if (tok.t === 'punct' && CLOSE[tok.v]) {
      this.next();
      const fields = this.fields(CLOSE[tok.v]!);
      return { kind: 'msg', start: tok.start, end: this.toks[this.pos - 1]!.end, line: tok.line, fields };
    }
    this.eat('-');
    const v = this.next();
    if (v.t === 'punct' || v.t === 'eof') throw new Issue(v.line, `expected a value, got "${v.v || 'end of input'}"`);
    while (v.t === 'str' && this.peek().t === 'str') this.next(); // adjacent strings concatenate
    return { kind: 'scalar', start: tok.start, end: this.toks[this.pos - 1]!.end, line: tok.line };
  }
}

/** Scans text format into field occurrences, or returns the first syntax problem with its line. */
export function scanTxt(text: string): TxtField[] | TxtSyntaxIssue {
  let scanner: Scanner | undefined;
  try {
    scanner = new Scanner(tokenize(text));
    return scanner.fields(null);
  } catch (e) {
    if (!(e instanceof Issue)) throw e;
    return { line: e.line, field: scanner?.path.join('.') ?? '', message: e.message };
  }
}
