import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { checkSignature, checkpointBody, decodeNote, parseSignedCheckpoint, signCheckpoint } from '../../src/ledger/checkpoint.js';
import { formatVerifierKey, generateSigningKey, keyIdOf, parsePrivateKey, parseVerifierKey } from '../../src/ledger/keys.js';

const origin = 'airlock.ledger/0123456789abcdef0123';
const root = createHash('sha256').update('root').digest();

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isAirlockError(e)) return e.code;
    throw e;
  }
  return 'none';
}

describe('signed checkpoints (C2SP tlog-checkpoint + signed-note)', () => {
  const { key, text } = generateSigningKey(origin);

  it('computes the key ID as the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)', () => {
    const want = createHash('sha256').update(Buffer.concat([Buffer.from(`${origin}\n`), Buffer.from([1]), key.publicKey])).digest().subarray(0, 4);
    expect(keyIdOf(origin, key.publicKey)).toEqual(want);
    expect(key.keyId).toEqual(want);
  });

  it('writes origin, size and base64 root on lines 1–3, a blank line, then "— name base64(keyid || sig)"', () => {
    const note = signCheckpoint({ origin, size: 42, rootHash: root }, key);
    const lines = note.split('\n');
    expect(lines.slice(0, 4)).toEqual([origin, '42', root.toString('base64'), '']);
    expect(lines[4]).toMatch(new RegExp(`^\u2014 ${origin.replace('.', '\\.')} [A-Za-z0-9+/]+=*$`));
    expect(lines[5]).toBe('');
    const sig = Buffer.from(lines[4]!.split(' ')[2]!, 'base64');
    expect(sig.subarray(0, 4)).toEqual(key.keyId);
    // An independent Ed25519 implementation accepts the signature over the note text (lines 1–3 with newlines).
    expect(ed25519.verify(sig.subarray(4), Buffer.from(checkpointBody({ origin, size: 42, rootHash: root })), key.publicKey)).toBe(true);
  });

  it('parses what it writes and checks signatures by the C2SP rules', () => {
    const note = signCheckpoint({ origin, size: 7, rootHash: root }, key);
    const cp = parseSignedCheckpoint(note, 'The checkpoint');
    expect(cp).toMatchObject({ origin, size: 7 });
    expect(cp.rootHash).toEqual(root);
    expect(checkSignature(cp, key)).toBe('valid');
    // A key of another name or ID is ignored ("absent"), not an error.
    const other = generateSigningKey(origin).key;
    expect(checkSignature(cp, other)).toBe('absent');
    // Same name and key ID but the signature does not verify: invalid.
    const forged = note.replace(/ ([A-Za-z0-9+/=]+)\n$/, (_m, b64: string) => {
      const raw = Buffer.from(b64, 'base64');
      raw[10]! ^= 1;
      return ` ${raw.toString('base64')}\n`;
    });
    expect(checkSignature(parseSignedCheckpoint(forged, 'x'), key)).toBe('invalid');
    // Another body under the same signature: invalid.
    const moved = note.replace('\n7\n', '\n8\n');
    expect(checkSignature(parseSignedCheckpoint(moved, 'x'), key)).toBe('invalid');
    // Extra signatures from other keys are fine.
    const cosigned = `${note}\u2014 witness.example/w ${Buffer.alloc(68, 1).toString('base64')}\n`;
    expect(checkSignature(parseSignedCheckpoint(cosigned, 'x'), key)).toBe('valid');
  });

  it('refuses malformed checkpoints with one CHECKPOINT_INVALID sentence', () => {
    const good = signCheckpoint({ origin, size: 7, rootHash: root }, key);
    const sigLine = good.split('\n')[4]!;
    const bad: Record<string, string> = {
      'no signature': `${origin}\n7\n${root.toString('base64')}\n\n`,
      'no blank line': `${origin}\n7\n${root.toString('base64')}\n${sigLine}\n`,
      'no final newline': good.slice(0, -1),
      'leading zero size': good.replace('\n7\n', '\n07\n'),
      'negative size': good.replace('\n7\n', '\n-7\n'),
      'huge size': good.replace('\n7\n', '\n99999999999999999999\n'),
      'short root': good.replace(root.toString('base64'), Buffer.alloc(16).toString('base64')),
      'root not base64': good.replace(root.toString('base64'), '!'.repeat(44)),
      'two lines only': `${origin}\n7\n\n${sigLine}\n`,
      'control character': good.replace(origin, `${origin}\u001b[31m`),
      'tab': good.replace('\n7\n', '\n7\t\n'),
      'bad signature line': good.replace('\u2014 ', '- '),
      'signature not base64': good.replace(sigLine, `\u2014 ${origin} ***`),
      'signature too short': good.replace(sigLine, `\u2014 ${origin} AAAA`),
      'empty line in body': `${origin}\n\n7\n${root.toString('base64')}\n\n${sigLine}\n`,
      'too big': good + `\u2014 x ${'A'.repeat(70_000)}\n`,
      empty: '',
    };
    for (const [what, text] of Object.entries(bad)) {
      expect(code(() => parseSignedCheckpoint(text, 'The checkpoint kept.txt')), what).toBe('CHECKPOINT_INVALID');
    }
    try {
      parseSignedCheckpoint(bad['leading zero size']!, 'The checkpoint kept.txt');
    } catch (e) {
      expect((e as Error).message).toMatch(/^The checkpoint kept\.txt is not a valid signed checkpoint: line 2 .* is not a tree size\.$/);
    }
    expect(code(() => decodeNote(Buffer.from([0x61, 0xff, 0x0a]), 'The checkpoint'))).toBe('CHECKPOINT_INVALID');
  });

  it('round-trips the private key file and the verifier key, and reads a PEM public key', async () => {
    const back = parsePrivateKey(text, 'k');
    expect(back.publicKey).toEqual(key.publicKey);
    expect(back.sign(Buffer.from('x'))).toEqual(key.sign(Buffer.from('x')));
    const vkey = formatVerifierKey(key);
    expect(vkey).toMatch(new RegExp(`^${origin.replace('.', '\\.')}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+=*$`));
    expect(parseVerifierKey(vkey, 'v', 'unused').publicKey).toEqual(key.publicKey);
    const { createPublicKey } = await import('node:crypto');
    const pem = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey]), format: 'der', type: 'spki' })
      .export({ format: 'pem', type: 'spki' })
      .toString();
    const fromPem = parseVerifierKey(pem, 'p', origin);
    expect(fromPem.keyId).toEqual(key.keyId);
    expect(code(() => parseVerifierKey('nonsense', 'v', origin))).toBe('BAD_INPUT');
    expect(code(() => parseVerifierKey(vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'), 'v', origin))).toBe('BAD_INPUT');
    expect(code(() => parsePrivateKey(text.replace(/\+[0-9a-f]{8}\+/, '+00000000+'), 'k'))).toBe('LEDGER_KEY');
  });
});
