/**
 * Text of failures that come from below Starlane (Node's system calls, grpc-js), for the
 * messages of StarlaneErrors and command-line errors. Every place that puts such a failure
 * into a message goes through here, so the same boilerplate is removed everywhere and no
 * prefix is written twice.
 */

/** An errno name as Node's system errors carry it in `code`: `ENOENT`, `EPERM`, ... */
const errnoPattern = /^E[A-Z0-9]+$/;

/**
 * The message of any thrown value, naming its errno once. Node's system errors already begin
 * their message with it (`EPERM: operation not permitted, mkdir '/x'`), so prefixing the code
 * again gave `EPERM: EPERM: ...`; an error whose message does not name its errno gets it in
 * front.
 */
export function errorText(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  // Duck-typed: errors raised by Node's fs are not always `instanceof Error` of this realm.
  const message = 'message' in error && typeof error.message === 'string' ? error.message : String(error);
  const code = 'code' in error ? error.code : undefined;
  if (typeof code !== 'string' || !errnoPattern.test(code) || message.startsWith(code)) return message;
  return `${code}: ${message}`;
}

/**
 * What a failed gRPC call says without grpc-js's wrapping: the `14 UNAVAILABLE: ` prefix of a
 * ServiceError's `message` (the status is told apart by the code), the `No connection
 * established. Last error: Error: ` preamble wherever it stands (a relayed failure has it
 * after its own words), and an empty `Resolution note:` tail; a note with content is kept in
 * parentheses.
 *
 * `No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9091. Resolution note: `
 * becomes `connect ECONNREFUSED 127.0.0.1:9091`.
 */
export function transportDetail(details: string): string {
  let text = details.trim().replace(/^\d+ [A-Z_]+: /, '');
  const note = /\.?\s*Resolution note:(.*)$/s.exec(text);
  if (note !== null) {
    const content = (note[1] ?? '').trim();
    text = text.slice(0, note.index) + (content === '' ? '' : ` (${content})`);
  }
  text = text.replace(/No connection established\. Last error: (Error: )?/g, '').trim();
  return text === '' ? details.trim() : text;
}
