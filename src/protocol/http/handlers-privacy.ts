/**
 * POST /v2/privacy/erase `{"subject": "<id>"}` (admin): the right to erasure (GDPR art. 17, CCPA).
 * Removes every payload-log record of the subject and answers how many; the payload log records
 * the erasure in the audit trail under a hash of the subject.
 */
import { InferError, invalidArg, subjectId } from '../../core/index.js';
import { parseJsonObjectBody, stringifyJson } from './json.js';
import { type Handler, jsonResult } from './types.js';

export const privacyErase: Handler = async (deps, _m, req) => {
  if (!deps.privacy)
    throw new InferError(
      'IG_ERR_UNSUPPORTED',
      'payload logging is not enabled: start the server with --payload-log-dir DIR to log and erase payloads',
    );
  const doc = parseJsonObjectBody(req.body, deps.limits.maxJsonDepth);
  // The same rule as the header: a value that could never have been logged is refused, not echoed.
  const subject = subjectId(doc.subject);
  if (subject === undefined) throw invalidArg("'subject' must be a printable token of 1 to 128 characters");
  const removed = await deps.privacy.erase(subject, req.principal.id);
  return jsonResult(stringifyJson({ subject, removed }));
};
