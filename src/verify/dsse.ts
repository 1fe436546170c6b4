/**
 * Binding a DSSE-signed in-toto statement to an artifact. @sigstore/verify checks the envelope's signature but
 * never looks inside the payload, so a valid attestation about *another* artifact would otherwise pass. The
 * statement is read from the envelope's payload — the bytes the signature covers (PAE) — never from anything
 * unsigned, and the artifact's sha256 must be one of its subjects' digests.
 */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = ['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1'];

export interface InTotoSubject {
  readonly name: string;
  readonly digest: Readonly<Record<string, string>>;
}

export interface InTotoEvidence {
  readonly payloadType: string;
  readonly statementType: string;
  readonly predicateType: string;
  readonly subjects: readonly InTotoSubject[];
}

/**
 * Parses the signed payload as an in-toto statement and checks that one subject has `sha256` equal to
 * `artifactSha256Hex`. Throws an Error with a one-line reason otherwise (the caller names the check).
 */
export function verifyDsseSubject(envelope: { payloadType: string; payload: Uint8Array }, artifactSha256Hex: string): InTotoEvidence {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new Error(`the DSSE payload type is ${JSON.stringify(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}, so it names no artifact`);
  }
  let statement: unknown;
  try {
    statement = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(envelope.payload));
  } catch {
    throw new Error('the signed in-toto statement is not valid UTF-8 JSON');
  }
  const s = asObject(statement);
  const type = s?._type;
  if (!s || typeof type !== 'string' || !STATEMENT_TYPES.includes(type)) {
    throw new Error(`the signed payload is not an in-toto statement (_type ${JSON.stringify(type)})`);
  }
  if (!Array.isArray(s.subject) || s.subject.length === 0) throw new Error('the in-toto statement has no subject');
  const subjects: InTotoSubject[] = s.subject.map((raw: unknown, i: number) => {
    const sub = asObject(raw);
    const digest = asObject(sub?.digest);
    if (!sub || !digest || !Object.values(digest).every((v) => typeof v === 'string')) {
      throw new Error(`in-toto subject ${i} has no digest map`);
    }
    return { name: typeof sub.name === 'string' ? sub.name : '', digest: digest as Record<string, string> };
  });
  const want = artifactSha256Hex.toLowerCase();
  // Digest values are lowercase hex by the in-toto spec; compare case-insensitively so an uppercase encoder
  // does not turn a genuine attestation into a failure (hex case carries no meaning).
  if (!subjects.some((sub) => sub.digest.sha256?.toLowerCase() === want)) {
    throw new Error(`no subject of the signed in-toto statement has sha256 ${want}`);
  }
  return {
    payloadType: envelope.payloadType,
    statementType: type,
    predicateType: typeof s.predicateType === 'string' ? s.predicateType : '',
    subjects,
  };
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
