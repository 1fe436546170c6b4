/**
 * Performance: @sigstore/core re-encodes a certificate to DER (recursively, ~150 ASN.1 nodes, each allocating
 * fresh buffers) every time it compares two certificates or checks a signature — about 1,600 node encodings, and
 * with the P-384 signature checks of the trusted chain (repeated for every bundle) most of the CPU time of one
 * verification. Two caches, both on instances we created, never on the library's prototypes:
 *
 *  - cacheDerEncodings(cert), for certificates whose ASN.1 tree nothing mutates — the trusted root's CA/TSA
 *    certificates, and a bundle's leaf once parsed: the root and TBS nodes' `toDER` and the certificate's
 *    `publicKey` are computed once (lazily) and then answered from the cache. @sigstore/verify's SCT check mutates
 *    only a *clone* of the leaf, which is a new, uncached tree. The cached bytes are the certificate's own
 *    encoding, so even a later mutation could only make a check run on the original, signed bytes.
 *  - cacheTrustedVerifications(chain): the signature of one *trusted* certificate by another (intermediate by
 *    root, root by itself) cannot change, so `verify(issuer)` on trusted certificates is memoised per issuer.
 *    A leaf is never given this cache: its signature is checked every time.
 */
import type { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';

const derCached = new WeakSet<object>();

export function cacheDerEncodings(cert: X509Certificate): X509Certificate {
  if (derCached.has(cert)) return cert;
  for (const node of [cert.root, cert.tbsCertificate]) {
    const encode = node.toDER.bind(node);
    let der: Buffer | undefined;
    Object.defineProperty(node, 'toDER', { value: () => (der ??= encode()), configurable: true });
  }
  const spkiOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(cert), 'publicKey')?.get;
  if (spkiOf) {
    let spki: Buffer | undefined;
    Object.defineProperty(cert, 'publicKey', { get: () => (spki ??= spkiOf.call(cert) as Buffer), configurable: true });
  }
  derCached.add(cert);
  return cert;
}

const materialCached = new WeakSet<object>();

/** Applies cacheTrustedVerifications to every CA and TSA chain of a trust material, once per material. */
export function cacheTrustMaterial(material: TrustMaterial): TrustMaterial {
  if (!materialCached.has(material)) {
    for (const ca of [...material.certificateAuthorities, ...material.timestampAuthorities]) cacheTrustedVerifications(ca.certChain);
    materialCached.add(material);
  }
  return material;
}

/** For the certificates of one trusted CA/TSA chain only (see the module comment). */
export function cacheTrustedVerifications(chain: readonly X509Certificate[]): void {
  for (const cert of chain) {
    cacheDerEncodings(cert);
    const verify = cert.verify.bind(cert);
    const results = new WeakMap<object, boolean>();
    let self: boolean | undefined;
    Object.defineProperty(cert, 'verify', {
      value: (issuer?: X509Certificate): boolean => {
        if (issuer === undefined) return (self ??= verify());
        // Only another trusted certificate's verdict is stable; anything else is checked afresh.
        if (!chain.includes(issuer)) return verify(issuer);
        let r = results.get(issuer);
        if (r === undefined) results.set(issuer, (r = verify(issuer)));
        return r;
      },
      configurable: true,
    });
  }
}
