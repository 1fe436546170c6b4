/**
 * The exact commands an auditor runs to check the report's checkpoint: with airlock, and with standard tools only
 * (OpenSSL for the Ed25519 signed note, Python's standard library for the RFC 6962 root over a JSON export). Both
 * are tested against a real ledger (test/e2e/report-browser.test.ts).
 */

/** Recomputes every leaf and the tree root from `airlock ledger export --format json`, against a kept checkpoint. */
export const VERIFY_ROOT_PY = `# verify_root.py — usage: python3 verify_root.py ledger.json kept.checkpoint   (Python 3 standard library only)
import base64, hashlib, json, sys
H = lambda b: hashlib.sha256(b).digest()
entries = json.load(open(sys.argv[1], encoding="utf-8"))
size, root = open(sys.argv[2], encoding="utf-8").read().split("\\n")[1:3]
size = int(size)
assert len(entries) >= size, "the export holds fewer entries than the checkpoint covers"
COLUMNS = ("body", "digest", "image", "kind", "reason", "release", "run", "seq", "status", "subject", "time")
leaves = []
for i, e in enumerate(entries[:size]):
    assert e["seq"] == i, f"entry {i} is missing"
    # the leaf is the RFC 8785 canonical JSON of the row (integers only, so sorted keys + compact separators suffice)
    leaf = json.dumps({c: e[c] for c in COLUMNS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    leaves.append(H(b"\\x00" + leaf.encode("utf-8")))
    assert leaves[-1].hex() == e["leafHash"], f"entry {i} does not hash to its leafHash"
def mth(h):  # RFC 6962 Merkle tree hash: split at the largest power of two below len(h)
    if len(h) <= 1:
        return h[0] if h else H(b"")
    k = 1 << ((len(h) - 1).bit_length() - 1)
    return H(b"\\x01" + mth(h[:k]) + mth(h[k:]))
assert base64.b64encode(mth(leaves)).decode() == root, "the entries do not lead to the checkpoint's root hash"
print(f"entries 0..{size - 1} lead to the checkpoint's root {root}")
`;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Saving the checkpoint and key shown in the report, then checking with airlock. */
export function withAirlock(note: string, verifierKey: string): string {
  return [
    '# the checkpoint and verifier key shown above, kept where the ledger host cannot write',
    `cat > kept.checkpoint <<'END_OF_CHECKPOINT'`,
    note.replace(/\n$/, ''),
    'END_OF_CHECKPOINT',
    `echo ${shellQuote(verifierKey)} > ledger.vkey`,
    '# the ledger extends this checkpoint, and every checkpoint in it is signed by this key',
    'airlock ledger verify --checkpoint kept.checkpoint --public-key ledger.vkey',
  ].join('\n');
}

/** The same with OpenSSL and Python only (run after the two files above are saved). */
export const WITHOUT_AIRLOCK = [
  '# 1. the signed note: Ed25519 over its first three lines, by the key named in ledger.vkey (OpenSSL 3)',
  "{ printf '\\x30\\x2a\\x30\\x05\\x06\\x03\\x2b\\x65\\x70\\x03\\x21\\x00'; cut -d+ -f3- ledger.vkey | base64 -d | tail -c 32; } > ledger-vkey.der",
  'head -3 kept.checkpoint > signed.txt',
  'awk -v o="$(head -1 kept.checkpoint)" \'$1 == "—" && $2 == o { print $3 }\' kept.checkpoint | base64 -d | tail -c 64 > signature.bin',
  'openssl pkeyutl -verify -pubin -keyform DER -inkey ledger-vkey.der -rawin -in signed.txt -sigfile signature.bin',
  '# 2. the root: every entry of a JSON export hashed into the RFC 6962 tree (verify_root.py, below)',
  'airlock ledger export --format json --output ledger.json   # on the ledger host, or ask its operator',
  'python3 verify_root.py ledger.json kept.checkpoint',
].join('\n');
