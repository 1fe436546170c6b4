/**
 * Checkpoints: the tree head in the C2SP tlog-checkpoint format, signed as a C2SP signed note.
 *
 *     <origin>\n<tree size>\n<base64 root hash>\n\n— <key name> <base64(key ID || Ed25519 signature)>\n
 *
 * Parsing is strict because a checkpoint is the one thing an auditor hands back to us from outside: any byte
 * that the format does not allow makes the whole note invalid rather than being skipped.
 */
import { AirlockError } from '../errors.js';
import { HASH_SIZE } from './merkle.js';
import { formatVerifierKey, type SigningKey, type VerifierKey } from './keys.js';

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  signature: Buffer;
}

export interface SignedCheckpoint extends Checkpoint {
  /** The whole note as signed and stored, signatures included. */
  note: string;
  /** The signed text: the checkpoint lines, with the final newline. */
  body: string;
  signatures: NoteSignature[];
}

/** A stored checkpoint as `ledger checkpoint` and the auditor's HTML report show it. */
export interface CheckpointView {
  origin: string;
  size: number;
  /** Base64, as in the note. */
  rootHash: string;
  time: string;
  /** The signed note, verbatim (lines 1–3: origin, size, base64 root hash). */
  note: string;
  /** The verifier key to pin (`--public-key`). */
  verifierKey: string;
}

/** The view of a checkpoint the ledger stored (its note parsed again, strictly), with `key` as the verifier key. */
export function checkpointView(stored: { size: number; time: string; note: string }, key: VerifierKey): CheckpointView {
  const cp = parseSignedCheckpoint(stored.note, `The stored checkpoint at size ${stored.size}`);
  return { origin: cp.origin, size: cp.size, rootHash: cp.rootHash.toString('base64'), time: stored.time, note: stored.note, verifierKey: formatVerifierKey(key) };
}

const MAX_NOTE_BYTES = 64 * 1024;
const MAX_SIGNATURES = 64;
const SIG_PREFIX = '\u2014 ';
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function checkpointBody(cp: Checkpoint): string {
  return `${cp.origin}\n${cp.size}\n${cp.rootHash.toString('base64')}\n`;
}

export function signCheckpoint(cp: Checkpoint, key: SigningKey): string {
  const body = checkpointBody(cp);
  const sig = Buffer.concat([key.keyId, key.sign(Buffer.from(body, 'utf8'))]);
  return `${body}\n${SIG_PREFIX}${key.name} ${sig.toString('base64')}\n`;
}

function bad(what: string, why: string): AirlockError {
  return new AirlockError('CHECKPOINT_INVALID', `${what} is not a valid signed checkpoint: ${why}.`, { details: { reason: why } });
}

/** Decodes a note read from a file: C2SP notes are UTF-8, and a byte that is not is an error, not a U+FFFD. */
export function decodeNote(bytes: Uint8Array, what: string): string {
  if (bytes.byteLength > MAX_NOTE_BYTES) throw bad(what, `it is larger than ${MAX_NOTE_BYTES} bytes`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw bad(what, 'it is not valid UTF-8');
  }
}

/** Parses a signed checkpoint note. `what` names it in the one-sentence error (e.g. "The checkpoint kept.txt"). */
export function parseSignedCheckpoint(text: string, what: string): SignedCheckpoint {
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) throw bad(what, `it is larger than ${MAX_NOTE_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw bad(what, 'it contains control characters');
  if (!text.endsWith('\n')) throw bad(what, 'it does not end with a newline');
  // The text is separated from the signatures by the LAST blank line.
  const sep = text.lastIndexOf('\n\n');
  if (sep < 0) throw bad(what, 'it has no blank line before its signatures');
  const body = text.slice(0, sep + 1);
  const sigLines = text.slice(sep + 2, -1).split('\n');
  if (sigLines.length === 0 || sigLines[0] === '') throw bad(what, 'it has no signature');
  if (sigLines.length > MAX_SIGNATURES) throw bad(what, `it has more than ${MAX_SIGNATURES} signatures`);
  const signatures = sigLines.map((l) => parseSignatureLine(l, what));

  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad(what, 'it needs an origin, a tree size and a root hash on its first three lines');
  if (lines.some((l) => l === '')) throw bad(what, 'it has an empty line inside the checkpoint');
  const [origin, sizeLine, rootLine] = lines as [string, string, string];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) {
    throw bad(what, `line 2 "${sizeLine.slice(0, 40)}" is not a tree size`);
  }
  if (!B64.test(rootLine) || rootLine.length !== 44) throw bad(what, 'line 3 is not a base64 SHA-256 root hash');
  const rootHash = Buffer.from(rootLine, 'base64');
  if (rootHash.length !== HASH_SIZE || rootHash.toString('base64') !== rootLine) throw bad(what, 'line 3 is not a base64 SHA-256 root hash');
  return { origin, size: Number(sizeLine), rootHash, note: text, body, signatures };
}

function parseSignatureLine(line: string, what: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw bad(what, 'a signature line does not start with "\u2014 "');
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space <= 0) throw bad(what, 'a signature line has no key name');
  const name = rest.slice(0, space);
  const b64 = rest.slice(space + 1);
  if (/[\s+]/u.test(name)) throw bad(what, 'a signature key name contains a space or "+"');
  if (!B64.test(b64) || b64.length === 0) throw bad(what, 'a signature is not base64');
  const raw = Buffer.from(b64, 'base64');
  if (raw.length < 5 || raw.toString('base64') !== b64) throw bad(what, 'a signature is too short or not canonical base64');
  return { name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
}

export type SignatureCheck = 'valid' | 'invalid' | 'absent';

/**
 * The C2SP verifier rule: signatures from unknown keys (other name or key ID) are ignored; a signature from the
 * known key must verify. 'absent' means no line from this key at all.
 */
export function checkSignature(cp: SignedCheckpoint, key: VerifierKey): SignatureCheck {
  let seen = false;
  for (const s of cp.signatures) {
    if (s.name !== key.name || !s.keyId.equals(key.keyId)) continue;
    seen = true;
    if (!key.verify(Buffer.from(cp.body, 'utf8'), s.signature)) return 'invalid';
  }
  return seen ? 'valid' : 'absent';
}
